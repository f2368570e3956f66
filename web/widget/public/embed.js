/*
 * kefu chat widget loader. Add to any page:
 *   <script src="https://kefu.example.com/embed.js" data-widget-key="demo" async></script>
 * Optional attributes: data-customer="C0001" (your logged-in customer's id),
 * data-customer-token="..." (a signed customer token your backend minted for
 * that customer: POST /v1/customers/{id}/inbox/token; proves who it is),
 * data-title="在线客服" (button label), data-open="true" (start opened).
 * It adds a floating button that opens the widget (served by the same kefu
 * server) in an iframe; the page's own styles and scripts are not touched.
 */
(function () {
  var script = document.currentScript;
  if (!script || window.__kefuEmbed) return;
  window.__kefuEmbed = true;
  var origin = new URL(script.src, location.href).origin;
  var key = script.getAttribute('data-widget-key') || 'demo';
  var customer = script.getAttribute('data-customer') || '';
  var token = script.getAttribute('data-customer-token') || '';
  var title = script.getAttribute('data-title') || '在线客服';
  var src = origin + '/?key=' + encodeURIComponent(key) + (customer ? '&customer=' + encodeURIComponent(customer) : '') +
    (token ? '&customer_token=' + encodeURIComponent(token) : '');

  var frame = null;
  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = title;
  button.setAttribute('aria-label', title);
  button.style.cssText =
    'position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;padding:12px 20px;' +
    'font:600 14px/1 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#fff;cursor:pointer;' +
    'background:linear-gradient(135deg,#1f6fff,#5b8cff);box-shadow:0 8px 24px rgba(31,111,255,.35)';

  function toggle() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = src;
      frame.title = title;
      // The widget's microphone button needs the iframe to be allowed the microphone.
      frame.allow = 'clipboard-write; microphone; autoplay';
      frame.style.cssText =
        'position:fixed;right:20px;bottom:76px;z-index:2147483000;width:min(400px,calc(100vw - 40px));' +
        'height:min(640px,calc(100vh - 110px));border:0;border-radius:20px;background:#f3f5f9;' +
        'box-shadow:0 18px 50px rgba(31,60,120,.25)';
      document.body.appendChild(frame);
      return;
    }
    frame.style.display = frame.style.display === 'none' ? '' : 'none';
  }

  button.addEventListener('click', toggle);
  function mount() {
    document.body.appendChild(button);
    if (script.getAttribute('data-open') === 'true') toggle();
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
