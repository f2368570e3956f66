#include "app/ocr_screens.h"

#include <vips/vips.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <string_view>

namespace kefu::app {

namespace {

// splitmix64: a tiny PRNG whose output is the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int Int(int lo, int hi) { return lo + static_cast<int>(Next() % uint64_t(hi - lo + 1)); }  // [lo, hi]
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& a) {
    return a[Next() % N];
  }
  std::string Digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += char('0' + Next() % 10);
    return s;
  }
  double Uniform() { return double(Next() >> 11) / double(1ull << 53); }
  // Approximately standard normal (sum of 4 uniforms, scaled): cheap and exact enough for noise.
  double Normal() { return (Uniform() + Uniform() + Uniform() + Uniform() - 2.0) * std::sqrt(3.0); }

 private:
  uint64_t s_;
};

std::string Two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

struct Date {
  int y = 2026, m = 1, d = 1, hh = 0, mm = 0, ss = 0;
};
Date RandomDate(Rng& r) { return {2026, r.Int(1, 12), r.Int(1, 28), r.Int(0, 23), r.Int(0, 59), r.Int(0, 59)}; }
std::string DateText(const Date& t, bool seconds = true) {
  return std::to_string(t.y) + "-" + Two(t.m) + "-" + Two(t.d) + " " + Two(t.hh) + ":" + Two(t.mm) +
         (seconds ? ":" + Two(t.ss) : "");
}

std::string OrderId(Rng& r, const Date& t) { return "SO" + std::to_string(t.y) + Two(t.m) + Two(t.d) + r.Digits(4); }

std::string Price(Rng& r) {
  static constexpr std::array<int, 8> kBase = {19, 59, 129, 299, 899, 1299, 3999, 6999};
  const int yuan = r.Pick(kBase) + r.Int(0, 9) * 10 - 1;
  static constexpr std::array<const char*, 3> kCents = {".00", ".90", ".50"};
  return std::to_string(std::max(yuan, 9)) + r.Pick(kCents);
}

std::string Mobile(Rng& r) { return "1" + std::to_string(r.Int(3, 9)) + r.Digits(9); }
std::string MaskedMobile(Rng& r) {
  const std::string m = Mobile(r);
  return m.substr(0, 3) + "****" + m.substr(7);
}

constexpr std::array<std::pair<const char*, const char*>, 10> kProducts = {{
    {"华为 Mate 60 Pro 12GB+512GB 雅川青", "Huawei Mate 60 Pro 12GB+512GB Green"},
    {"戴森吹风机 HD15 紫红色", "Dyson Supersonic Hair Dryer HD15"},
    {"小米手环8 NFC版 亮黑色", "Xiaomi Smart Band 8 NFC Black"},
    {"索尼 WH-1000XM5 无线降噪耳机 黑色", "Sony WH-1000XM5 Wireless Headphones"},
    {"美的 1.5匹 新一级能效 变频空调挂机", "Midea 1.5HP Inverter Air Conditioner"},
    {"兰蔻小黑瓶精华肌底液 50ml", "Lancome Advanced Genifique Serum 50ml"},
    {"李宁 超轻21 男子跑步鞋 42码", "Li-Ning Men's Running Shoes Size 42"},
    {"海尔 470升 十字对开门冰箱", "Haier 470L French Door Refrigerator"},
    {"Apple iPhone 15 128GB 蓝色", "Apple iPhone 15 128GB Blue"},
    {"得力 A4 复印纸 70g 5包装", "Deli A4 Copy Paper 70gsm, 5 Reams"},
}};

constexpr std::array<std::pair<const char*, const char*>, 5> kOrderStatus = {{
    {"运输中", "In transit"},
    {"已发货", "Shipped"},
    {"已签收", "Delivered"},
    {"待发货", "Awaiting shipment"},
    {"退款中", "Refund in progress"},
}};

constexpr std::array<std::pair<const char*, const char*>, 10> kNames = {{
    {"张伟", "Wei Zhang"},
    {"王芳", "Fang Wang"},
    {"李娜", "Na Li"},
    {"刘洋", "Yang Liu"},
    {"陈静", "Jing Chen"},
    {"杨磊", "Lei Yang"},
    {"赵敏", "Min Zhao"},
    {"黄强", "Qiang Huang"},
    {"周婷", "Ting Zhou"},
    {"吴昊", "Hao Wu"},
}};

struct Place {
  const char* zh_city;  // province + city + district
  const char* zh_road;
  const char* en_road;
  const char* en_city;
  const char* hub_zh;
  const char* hub_en;
};
constexpr std::array<Place, 6> kPlaces = {{
    {"广东省深圳市南山区", "科技园南路", "Keji South Road, Nanshan, Shenzhen", "Guangdong 518057", "深圳", "Shenzhen"},
    {"上海市浦东新区", "世纪大道", "Century Avenue, Pudong, Shanghai", "200120", "上海", "Shanghai"},
    {"北京市朝阳区", "建国路", "Jianguo Road, Chaoyang, Beijing", "100022", "北京", "Beijing"},
    {"浙江省杭州市西湖区", "文三路", "Wensan Road, Xihu, Hangzhou", "Zhejiang 310012", "杭州", "Hangzhou"},
    {"四川省成都市武侯区", "天府大道北段", "North Tianfu Avenue, Wuhou, Chengdu", "Sichuan 610041", "成都", "Chengdu"},
    {"湖北省武汉市洪山区", "珞喻路", "Luoyu Road, Hongshan, Wuhan", "Hubei 430074", "武汉", "Wuhan"},
}};

std::string ZhAddress(Rng& r, const Place& p) {
  return std::string(p.zh_city) + p.zh_road + std::to_string(r.Int(1, 1999)) + "号" + std::to_string(r.Int(1, 30)) +
         "栋" + std::to_string(r.Int(1, 28)) + Two(r.Int(1, 12)) + "室";
}
std::string EnAddress(Rng& r, const Place& p) {
  return std::string("No. ") + std::to_string(r.Int(1, 1999)) + " " + p.en_road + ", " + p.en_city;
}

struct Carrier {
  const char* zh;
  const char* en;
  const char* prefix;
  int digits;
};
constexpr std::array<Carrier, 5> kCarriers = {{
    {"顺丰速运", "SF Express", "SF", 13},
    {"京东快递", "JD Logistics", "JDVA", 11},
    {"圆通速递", "YTO Express", "YT", 13},
    {"中通快递", "ZTO Express", "7", 13},
    {"中国邮政 EMS", "China Post EMS", "1", 12},
}};

std::string ErrorCode(Rng& r) {
  switch (r.Int(0, 3)) {
    case 0: return "E" + r.Digits(4);
    case 1: return "PAY-" + std::to_string(r.Int(1000, 9999));
    case 2: return "ERR" + std::to_string(r.Int(10000, 99999));
    default: return std::to_string(r.Int(100000, 999999));
  }
}

struct ErrorText {
  const char *title_zh, *msg_zh, *title_en, *msg_en;
};
constexpr std::array<ErrorText, 6> kErrors = {{
    {"支付失败", "银行卡余额不足，请更换支付方式后重试。", "Payment failed",
     "Your card was declined. Please use another payment method."},
    {"提交订单失败", "该商品库存不足，请减少购买数量。", "Could not place order",
     "This item is out of stock. Please reduce the quantity."},
    {"网络异常", "网络连接超时，请检查网络设置后重试。", "Network error",
     "The connection timed out. Check your network and try again."},
    {"优惠券无法使用", "优惠券已过期或不满足使用条件。", "Coupon not applied",
     "This coupon has expired or the order does not qualify."},
    {"登录失败", "登录状态已失效，请重新登录。", "Sign-in failed", "Your session has expired. Please sign in again."},
    {"退款申请失败", "订单已超过售后期限，无法申请退款。", "Refund request failed",
     "This order is past the after-sales period and cannot be refunded."},
}};

}  // namespace

const char* ScreenKindName(ScreenKind k) {
  switch (k) {
    case ScreenKind::kOrderZh: return "order_zh";
    case ScreenKind::kOrderEn: return "order_en";
    case ScreenKind::kWaybillZh: return "waybill_zh";
    case ScreenKind::kWaybillEn: return "waybill_en";
    case ScreenKind::kErrorZh: return "error_zh";
    case ScreenKind::kErrorEn: return "error_en";
  }
  return "?";
}

const char* PageName(Page p) {
  switch (p) {
    case Page::kLight: return "light";
    case Page::kDark: return "dark";
    case Page::kColoured: return "coloured";
    case Page::kNoisy: return "noisy";
  }
  return "?";
}

std::string ScreenDoc::Text() const {
  std::string s;
  for (const auto& l : lines) s += (s.empty() ? "" : "\n") + l;
  return s;
}

ScreenDoc MakeScreenDoc(ScreenKind kind, uint64_t seed) {
  Rng r(seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(kind) + 1);
  ScreenDoc d;
  d.kind = kind;
  const bool zh = kind == ScreenKind::kOrderZh || kind == ScreenKind::kWaybillZh || kind == ScreenKind::kErrorZh;
  d.language = zh ? "zh" : "en";
  const auto& name = r.Pick(kNames);
  const auto& place = r.Pick(kPlaces);
  const Date when = RandomDate(r);
  switch (kind) {
    case ScreenKind::kOrderZh:
    case ScreenKind::kOrderEn: {
      d.key = OrderId(r, when);
      d.key_kind = "order_id";
      const auto& product = r.Pick(kProducts);
      const auto& status = r.Pick(kOrderStatus);
      const int qty = r.Int(1, 3);
      const std::string price = Price(r);
      const std::string total = [&] {
        const double v = std::stod(price) * qty;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", v);
        return std::string(buf);
      }();
      if (zh) {
        d.lines = {"订单详情",
                   std::string("订单状态：") + status.first,
                   "订单编号：" + d.key,
                   "下单时间：" + DateText(when),
                   std::string("商品：") + product.first,
                   "数量：" + std::to_string(qty),
                   "商品金额：¥" + price,
                   "实付款：¥" + total,
                   std::string("收货人：") + name.first + " " + MaskedMobile(r),
                   "收货地址：" + ZhAddress(r, place)};
      } else {
        d.lines = {"Order Details",
                   std::string("Status: ") + status.second,
                   "Order No.: " + d.key,
                   "Order date: " + DateText(when, false),
                   std::string("Item: ") + product.second,
                   "Qty: " + std::to_string(qty),
                   "Subtotal: ¥" + price,
                   "Total paid: ¥" + total,
                   std::string("Ship to: ") + name.second + ", " + MaskedMobile(r),
                   "Address: " + EnAddress(r, place)};
      }
      break;
    }
    case ScreenKind::kWaybillZh:
    case ScreenKind::kWaybillEn: {
      const auto& c = r.Pick(kCarriers);
      d.key = std::string(c.prefix) + r.Digits(c.digits);
      d.key_kind = "waybill";
      const auto& from = r.Pick(kPlaces);
      const auto& sender = r.Pick(kNames);
      if (zh) {
        d.lines = {"物流详情",
                   std::string("快递公司：") + c.zh,
                   "运单号：" + d.key,
                   "物流状态：运输中",
                   DateText(when) + " 快件已到达【" + place.hub_zh + "转运中心】",
                   std::string("寄件人：") + sender.first + " " + Mobile(r),
                   std::string("寄件地址：") + from.zh_city + from.zh_road + std::to_string(r.Int(1, 999)) + "号",
                   std::string("收件人：") + name.first + " " + Mobile(r),
                   "收件地址：" + ZhAddress(r, place)};
      } else {
        d.lines = {"Tracking Details",
                   std::string("Carrier: ") + c.en,
                   "Tracking No.: " + d.key,
                   "Status: In transit",
                   DateText(when, false) + " Arrived at " + place.hub_en + " sorting center",
                   std::string("Sender: ") + sender.second + ", " + from.hub_en,
                   std::string("Recipient: ") + name.second + ", +86 " + Mobile(r),
                   "Address: " + EnAddress(r, place)};
      }
      break;
    }
    case ScreenKind::kErrorZh:
    case ScreenKind::kErrorEn: {
      const auto& e = r.Pick(kErrors);
      d.key = ErrorCode(r);
      d.key_kind = "error_code";
      if (zh) {
        d.lines = {e.title_zh, "错误码：" + d.key, e.msg_zh, "时间：" + DateText(when), "确定"};
      } else {
        d.lines = {e.title_en, "Error code: " + d.key, e.msg_en, "Time: " + DateText(when, false), "OK"};
      }
      break;
    }
  }
  return d;
}

ScreenDoc OrderPage(const std::string& order_id, const std::string& status, const std::string& item,
                    const std::string& price) {
  ScreenDoc d;
  d.kind = ScreenKind::kOrderZh;
  d.language = "zh";
  d.key = order_id;
  d.key_kind = "order_id";
  d.lines = {"订单详情", "订单状态：" + status, "订单编号：" + order_id, "商品：" + item, "实付款：¥" + price};
  return d;
}

// ---- rendering ----------------------------------------------------------

namespace {

struct Rgb {
  uint8_t r, g, b;
};

struct Palette {
  Rgb page, bar, title, text, label, accent, rule;
};

Palette PaletteFor(Page page, Rng& r) {
  switch (page) {
    case Page::kDark: {
      static constexpr std::array<Palette, 2> k = {{
          {{28, 28, 30}, {44, 44, 46}, {255, 255, 255}, {229, 229, 234}, {152, 152, 157}, {255, 159, 10}, {58, 58, 60}},
          {{0, 0, 0}, {28, 28, 30}, {242, 242, 247}, {209, 209, 214}, {142, 142, 147}, {48, 209, 88}, {44, 44, 46}},
      }};
      return r.Pick(k);
    }
    case Page::kColoured: {
      static constexpr std::array<Palette, 3> k = {{
          {{255, 244, 230}, {255, 80, 0}, {255, 255, 255}, {34, 34, 34}, {102, 102, 102}, {224, 46, 36}, {255, 220, 190}},
          {{232, 241, 253}, {22, 119, 255}, {255, 255, 255}, {26, 26, 26}, {89, 89, 89}, {207, 19, 34}, {200, 220, 245}},
          {{234, 247, 238}, {7, 193, 96}, {255, 255, 255}, {30, 30, 30}, {96, 96, 96}, {250, 81, 81}, {200, 235, 210}},
      }};
      return r.Pick(k);
    }
    case Page::kLight:
    case Page::kNoisy:
    default: {
      static constexpr std::array<Palette, 2> k = {{
          {{255, 255, 255}, {247, 247, 247}, {17, 17, 17}, {51, 51, 51}, {153, 153, 153}, {255, 80, 0}, {235, 235, 235}},
          {{244, 244, 244}, {255, 255, 255}, {0, 0, 0}, {38, 38, 38}, {128, 128, 128}, {233, 30, 99}, {224, 224, 224}},
      }};
      return r.Pick(k);
    }
  }
}

std::string Escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string VipsError() {
  std::string e = vips_error_buffer();
  vips_error_clear();
  while (!e.empty() && e.back() == '\n') e.pop_back();
  return e;
}

bool InitVips() {
  static const bool ok = vips_init("kefu") == 0;
  return ok;
}

struct Unref {
  void operator()(VipsImage* p) const {
    if (p) g_object_unref(p);
  }
};
using Img = std::unique_ptr<VipsImage, Unref>;

// One run of text as an alpha mask (0–255) with its ink offset from the
// layout's top-left.
struct Mask {
  int x = 0, y = 0, w = 0, h = 0;
  std::string alpha;
};

Result<Mask> RenderMask(const std::string& markup, const std::string& font) {
  VipsImage* t = nullptr;
  if (vips_text(&t, markup.c_str(), "font", font.c_str(), "dpi", 72, nullptr) != 0)
    return Internal("vips_text: " + VipsError());
  Img img(t);
  Mask m;
  m.x = t->Xoffset;
  m.y = t->Yoffset;
  m.w = vips_image_get_width(t);
  m.h = vips_image_get_height(t);
  size_t n = 0;
  void* px = vips_image_write_to_memory(t, &n);
  if (!px) return Internal("vips_text: " + VipsError());
  m.alpha.assign(static_cast<const char*>(px), n);
  g_free(px);
  if (m.alpha.size() != size_t(m.w) * size_t(m.h)) return Internal("vips_text: unexpected mask layout");
  return m;
}

class Canvas {
 public:
  Canvas(int w, int h, Rgb fill) : w_(w), h_(h), px_(size_t(w) * h * 3) { Fill(0, 0, w, h, fill); }
  void Fill(int x0, int y0, int x1, int y1, Rgb c) {
    for (int y = std::max(0, y0); y < std::min(h_, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(w_, x1); ++x) Set(x, y, c);
  }
  // Draws `m` with its layout origin at (ox, oy): columns left of `split`
  // (layout coordinates) in `left`, the rest in `right`.
  void Draw(const Mask& m, int ox, int oy, int split, Rgb left, Rgb right) {
    for (int j = 0; j < m.h; ++j) {
      for (int i = 0; i < m.w; ++i) {
        const int a = static_cast<uint8_t>(m.alpha[size_t(j) * m.w + i]);
        if (a == 0) continue;
        const int x = ox + m.x + i, y = oy + m.y + j;
        if (x < 0 || y < 0 || x >= w_ || y >= h_) continue;
        const Rgb c = m.x + i < split ? left : right;
        uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
        p[0] = static_cast<uint8_t>((c.r * a + p[0] * (255 - a) + 127) / 255);
        p[1] = static_cast<uint8_t>((c.g * a + p[1] * (255 - a) + 127) / 255);
        p[2] = static_cast<uint8_t>((c.b * a + p[2] * (255 - a) + 127) / 255);
      }
    }
  }
  void AddNoise(Rng& r, double sigma) {
    for (size_t i = 0; i < px_.size(); i += 3) {
      const double n = r.Normal() * sigma;  // luminance noise, plus a little colour noise
      for (int k = 0; k < 3; ++k) {
        const double v = px_[i + k] + n + r.Normal() * sigma * 0.3;
        px_[i + k] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  int w() const { return w_; }
  int h() const { return h_; }
  const std::vector<uint8_t>& pixels() const { return px_; }

 private:
  void Set(int x, int y, Rgb c) {
    uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  int w_, h_;
  std::vector<uint8_t> px_;
};

// Where a line's label ends ("订单编号：", "Order No.: "), in bytes; 0 = no label.
size_t LabelEnd(const std::string& line) {
  const size_t zh = line.find("：");
  if (zh != std::string::npos && zh <= 18) return zh + std::string_view("：").size();
  const size_t en = line.find(": ");
  if (en != std::string::npos && en <= 16) return en + 2;
  return 0;
}

bool AccentValue(std::string_view label) {
  for (std::string_view w : {"状态", "金额", "实付", "Status", "Subtotal", "Total"})
    if (label.find(w) != std::string_view::npos) return true;
  return false;
}

}  // namespace

Result<std::string> RenderScreen(const ScreenDoc& doc, const ScreenLook& look, uint64_t seed) {
  if (!InitVips()) return Internal("libvips failed to initialise");
  if (doc.lines.empty()) return InvalidArgument("a screenshot needs at least a title line");
  if (look.text_px < 6 || look.text_px > 200) return InvalidArgument("text_px must be 6–200");
  if (look.jpeg_quality < 0 || look.jpeg_quality > 100) return InvalidArgument("jpeg_quality must be 0–100");
  Rng r(seed ^ 0xC0FFEE123456789ull);
  const Palette pal = PaletteFor(look.page, r);
  const int px = look.text_px, title_px = px * 5 / 4;
  const std::string font = "Noto Sans CJK SC " + std::to_string(px);
  const std::string title_font = "Noto Sans CJK SC Bold " + std::to_string(title_px);

  struct Line {
    Mask mask;
    int split = 0;  // layout x where the label ends
    Rgb left{}, right{};
  };
  KEFU_ASSIGN_OR_RETURN(Mask title, RenderMask(Escape(doc.lines[0]), title_font));
  std::vector<Line> lines;
  const bool dialog = doc.key_kind == "error_code";
  for (size_t i = 1; i < doc.lines.size(); ++i) {
    const std::string& text = doc.lines[i];
    Line l;
    KEFU_ASSIGN_OR_RETURN(l.mask, RenderMask(Escape(text), font));
    const size_t label = LabelEnd(text);
    l.left = l.right = pal.text;
    if (label > 0) {
      KEFU_ASSIGN_OR_RETURN(Mask lm, RenderMask(Escape(text.substr(0, label)), font));
      l.split = lm.x + lm.w + 1;
      l.left = pal.label;
      if (AccentValue(text.substr(0, label))) l.right = pal.accent;
    }
    if (dialog && i + 1 == doc.lines.size()) l.left = l.right = pal.accent;  // the dialog's button
    lines.push_back(std::move(l));
  }

  const int margin = std::max(16, px * 3 / 2), pitch = px * 2, bar_h = title_px * 2 + 8;
  int content_w = title.x + title.w;
  for (const auto& l : lines) content_w = std::max(content_w, l.mask.x + l.mask.w);
  const int w = content_w + 2 * margin;
  const int h = bar_h + margin + static_cast<int>(lines.size()) * pitch + margin;
  Canvas c(w, h, pal.page);
  c.Fill(0, 0, w, bar_h, pal.bar);
  c.Fill(0, bar_h - 1, w, bar_h, pal.rule);
  // The title centred in the bar (its ink box centred vertically).
  c.Draw(title, (w - title.w) / 2 - title.x, (bar_h - title.h) / 2 - title.y, 0, pal.title, pal.title);
  int y = bar_h + margin;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    const bool button = dialog && i + 1 == lines.size();
    const int x = button ? (w - l.mask.w) / 2 - l.mask.x : margin;
    c.Draw(l.mask, x, y, l.split, l.left, l.right);
    y += pitch;
    // Row separators as list pages draw them.
    if (!dialog && i + 1 < lines.size() && i % 3 == 2) c.Fill(margin, y - px / 4 - 1, w - margin, y - px / 4, pal.rule);
  }
  if (look.page == Page::kNoisy) c.AddNoise(r, look.noise_sigma);

  VipsImage* raw = vips_image_new_from_memory_copy(c.pixels().data(), c.pixels().size(), c.w(), c.h(), 3,
                                                   VIPS_FORMAT_UCHAR);
  if (!raw) return Internal("vips: " + VipsError());
  Img img(raw);
  img->Type = VIPS_INTERPRETATION_sRGB;
  if (look.angle_deg != 0) {
    VipsArrayDouble* bg = vips_array_double_newv(3, double(pal.page.r), double(pal.page.g), double(pal.page.b));
    VipsImage* rot = nullptr;
    const int rc = vips_similarity(img.get(), &rot, "angle", look.angle_deg, "background", bg, nullptr);
    vips_area_unref(VIPS_AREA(bg));
    if (rc != 0) return Internal("vips_similarity: " + VipsError());
    img.reset(rot);
    VipsImage* u = nullptr;
    if (vips_cast_uchar(img.get(), &u, nullptr) != 0) return Internal("vips_cast: " + VipsError());
    img.reset(u);
  }
  void* buf = nullptr;
  size_t len = 0;
  const int rc = look.jpeg_quality > 0
                     ? vips_jpegsave_buffer(img.get(), &buf, &len, "Q", look.jpeg_quality, nullptr)
                     : vips_pngsave_buffer(img.get(), &buf, &len, "compression", 6, nullptr);
  if (rc != 0) return Internal("vips save: " + VipsError());
  std::string out(static_cast<const char*>(buf), len);
  g_free(buf);
  return out;
}

}  // namespace kefu::app
