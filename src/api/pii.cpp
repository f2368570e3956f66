#include "api/pii.h"

#include <algorithm>
#include <array>
#include <vector>

#include "common/utf8.h"

namespace kefu::api::pii {
namespace {

using nlohmann::json;

std::vector<char32_t> CodePoints(std::string_view s) { return utf8::Decode(utf8::Sanitize(s)); }

std::string Encode(const std::vector<char32_t>& cps, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < cps.size(); ++i) utf8::Append(out, cps[i]);
  return out;
}

std::string MaskCodePoints(const std::vector<char32_t>& cps, size_t front, size_t back) {
  const size_t n = cps.size();
  if (n == 0) return "";
  if (front + back >= n) {  // too short: keep at most a quarter at each end
    front = std::min(front, n / 4);
    back = std::min(back, n / 4);
  }
  std::string out = Encode(cps, 0, front);
  out.append(n - front - back, '*');
  out += Encode(cps, n - back, n);
  return out;
}

bool EndsWith(const std::vector<char32_t>& cps, size_t end, std::u32string_view suffix) {
  if (end < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), cps.begin() + static_cast<std::ptrdiff_t>(end - suffix.size()));
}

// Suffixes of Chinese administrative divisions, longest first.
constexpr std::array<std::u32string_view, 10> kDivisionSuffixes = {
    U"特别行政区", U"自治区", U"自治州", U"自治县", U"自治旗", U"地区", U"省", U"市", U"区", U"县"};
constexpr std::array<std::u32string_view, 3> kLongDivisionSuffixes = {U"特别行政区", U"自治区", U"自治州"};
// Places inside a district that end like one ("望京花园小区"): never a division.
constexpr std::array<std::u32string_view, 9> kNotDivisions = {U"小区", U"社区", U"园区", U"校区", U"景区",
                                                            U"街区", U"片区", U"厂区", U"新村"};

// End (in code points) of the division segment that starts at `from`, or 0;
// `district` = it is a district or county (the last level named).
size_t DivisionEnd(const std::vector<char32_t>& cps, size_t from, bool& district) {
  // A name is at most 5 characters with its suffix ("呼和浩特市", "浦东新区"),
  // up to 11 for autonomous regions and prefectures ("克孜勒苏柯尔克孜自治州").
  for (size_t end = from + 2; end <= cps.size() && end <= from + 11; ++end) {
    for (std::u32string_view suffix : kDivisionSuffixes) {
      if (!EndsWith(cps, end, suffix) || end - suffix.size() < from + 1) continue;
      const bool long_name =
          std::any_of(kLongDivisionSuffixes.begin(), kLongDivisionSuffixes.end(),
                      [&](std::u32string_view s) { return EndsWith(cps, end, s); });
      if (!long_name && end - from > 5) return 0;
      for (std::u32string_view no : kNotDivisions)
        if (EndsWith(cps, end, no)) return 0;
      district = suffix == U"区" || suffix == U"县" || suffix == U"自治县" || suffix == U"自治旗";
      return end;
    }
  }
  return 0;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

enum class Kind { kNone, kPhone, kEmail, kAddress, kIdNumber, kBirthday };

Kind KindOfKey(std::string_view key) {
  const std::string k = Lower(key);
  if (k == "phone" || k == "mobile" || k == "tel" || k == "telephone" || k == "phone_number") return Kind::kPhone;
  if (k == "email") return Kind::kEmail;
  if (k == "address" || (k.size() > 8 && k.compare(k.size() - 8, 8, "_address") == 0)) return Kind::kAddress;
  if (k == "id_card" || k == "id_number" || k == "identity_card" || k == "id_card_no" || k == "passport" ||
      k == "passport_no")
    return Kind::kIdNumber;
  if (k == "birthday" || k == "birth_date" || k == "date_of_birth") return Kind::kBirthday;
  return Kind::kNone;
}

std::string MaskAs(Kind kind, std::string_view v) {
  switch (kind) {
    case Kind::kPhone: return MaskPhone(v);
    case Kind::kEmail: return MaskEmail(v);
    case Kind::kAddress: return MaskAddress(v);
    case Kind::kIdNumber: return MaskIdNumber(v);
    case Kind::kBirthday: return MaskBirthday(v);
    case Kind::kNone: break;
  }
  return std::string(v);
}

}  // namespace

std::string MaskMiddle(std::string_view s, size_t front, size_t back) {
  return MaskCodePoints(CodePoints(s), front, back);
}

std::string MaskPhone(std::string_view phone) {
  auto cps = CodePoints(phone);
  if (cps.size() >= 8) return MaskCodePoints(cps, 3, 4);
  return MaskCodePoints(cps, 0, 2);  // short numbers (extensions): the last two at most
}

std::string MaskEmail(std::string_view email) {
  auto cps = CodePoints(email);
  auto at = std::find(cps.begin(), cps.end(), U'@');
  if (at == cps.end() || at == cps.begin()) return MaskCodePoints(cps, 1, 0);
  const size_t local = static_cast<size_t>(at - cps.begin());
  // One character of the local part (none of a one-character one), a fixed run of stars.
  return Encode(cps, 0, local > 1 ? 1 : 0) + "***" + Encode(cps, local, cps.size());
}

std::string MaskAddress(std::string_view address) {
  auto cps = CodePoints(address);
  if (cps.empty()) return "";
  size_t keep = 0;
  for (int level = 0; level < 3; ++level) {  // province, city, district/county: no further
    bool district = false;
    size_t end = DivisionEnd(cps, keep, district);
    if (end == 0) break;
    keep = end;
    if (district) break;
  }
  if (keep == 0) keep = std::min<size_t>(cps.size() / 4, 6);  // no division named: a quarter, at most 6
  if (keep >= cps.size()) {
    // Nothing but divisions ("上海市浦东新区"): there is no detail to hide.
    return Encode(cps, 0, cps.size());
  }
  return Encode(cps, 0, keep) + "****";
}

std::string MaskIdNumber(std::string_view id) {
  auto cps = CodePoints(id);
  if (cps.size() >= 10) return MaskCodePoints(cps, 4, 4);
  if (cps.size() >= 6) return MaskCodePoints(cps, 1, 1);
  return std::string(cps.size(), '*');
}

std::string MaskBirthday(std::string_view birthday) {
  auto cps = CodePoints(birthday);
  const bool dated = cps.size() == 10 && cps[4] == U'-' && cps[7] == U'-' &&
                     std::all_of(cps.begin(), cps.begin() + 4, [](char32_t c) { return c >= U'0' && c <= U'9'; });
  if (dated) return Encode(cps, 0, 4) + "-**-**";
  return std::string(cps.size(), '*');
}

std::string MaskIdentityValue(std::string_view kind, std::string_view value) {
  const std::string k = Lower(kind);
  if (k == "phone") return MaskPhone(value);
  if (k == "email") return MaskEmail(value);
  if (KindOfKey(k) == Kind::kIdNumber) return MaskIdNumber(value);
  return MaskMiddle(value, 3, 4);  // app_user_id, wechat_openid/unionid, device_id, loyalty_no, ...
}

void MaskPersonalData(json& j) {
  if (j.is_array()) {
    for (auto& v : j) MaskPersonalData(v);
    return;
  }
  if (!j.is_object()) return;
  // A channel identity {"kind": "phone", "value": "13812345678", ...}.
  auto kind = j.find("kind");
  auto value = j.find("value");
  if (kind != j.end() && value != j.end() && kind->is_string() && value->is_string())
    *value = MaskIdentityValue(kind->get_ref<const std::string&>(), value->get_ref<const std::string&>());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) {
      Kind k = KindOfKey(it.key());
      if (k != Kind::kNone) it.value() = MaskAs(k, it.value().get_ref<const std::string&>());
    } else {
      MaskPersonalData(it.value());
    }
  }
}

}  // namespace kefu::api::pii
