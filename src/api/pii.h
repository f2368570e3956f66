// Masking of a customer's personal data for people who may not see all of it
// (docs/agents.md, "Who sees a customer's personal data": agents see masked
// contact and identity data, supervisors and admins see it in full).
//
// Pure functions on UTF-8 text: they work on code points, never cut a
// multi-byte character (invalid input is first sanitised to U+FFFD), and keep
// at most a quarter at each end of a value too short for the usual rule, so
// that masking never reveals a value whole.
//
//   MaskPhone("13812345678")                    -> "138****5678"
//   MaskAddress("上海市浦东新区世纪大道100号")      -> "上海市浦东新区****"
//   MaskIdNumber("310101199001011234")          -> "3101**********1234"
//   MaskEmail("zhangwei88@example.com")         -> "z***@example.com"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kefu::api::pii {

// Keeps the first `front` and last `back` code points and replaces each one
// in between with '*'. When the value is too short for that, both are cut to
// a quarter of its length (so "12345" with 3/4 -> "1***5", "ab" -> "**").
std::string MaskMiddle(std::string_view s, size_t front, size_t back);

// Phone numbers: 8+ characters keep the first 3 and last 4 ("138****5678",
// "+86 138****5678" keeps its prefix only as far as the first 3 characters).
std::string MaskPhone(std::string_view phone);

// Email: the first character of the local part and the domain ("z***@example.com").
std::string MaskEmail(std::string_view email);

// Addresses: the administrative divisions at the start (province, city,
// district/county: "上海市浦东新区", "浙江省杭州市西湖区", "广西壮族自治区南宁市")
// stay, the rest (street, building, room) becomes "****". Without a
// recognisable division, a quarter of the text (at most 6 characters) stays.
std::string MaskAddress(std::string_view address);

// Identity card / passport numbers: 10+ characters keep the first 4 and the
// last 4 ("3101**********1234"), 6-9 the first and the last, shorter nothing.
std::string MaskIdNumber(std::string_view id);

// Birthdays "YYYY-MM-DD": the year stays ("1990-**-**"); anything else is masked whole.
std::string MaskBirthday(std::string_view birthday);

// A channel identity's value by its kind (phone, email, id_card ...; ids such
// as app_user_id or wechat_openid keep their first 3 and last 4 characters).
std::string MaskIdentityValue(std::string_view kind, std::string_view value);

// Masks, anywhere in `j` (objects and arrays, recursively), the string values
// of personal-data members: phone/mobile/tel, email, address (and
// *_address), id_card/id_number/identity_card/passport, birthday; and the
// "value" of every {"kind", "value"} identity object by its kind. Other
// members, null and non-string values are left as they are.
void MaskPersonalData(nlohmann::json& j);

}  // namespace kefu::api::pii
