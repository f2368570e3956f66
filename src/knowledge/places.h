// Places customers name where the knowledge base names their region: "我在喀什
// 包邮吗" and "can you send stuff to Lhasa?" ask about 新疆 and 西藏 (remote
// areas), "I'm based in Singapore" about delivering overseas. The search adds
// the region's words to such a query, at synonym weight, as standing for the
// place (TenantIndex::Search).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kefu::knowledge {

struct PlaceMention {
  std::string place;      // as found in the text: "喀什", "lhasa"
  std::string region_zh;  // "新疆"; "海外" for another country
  std::string region_en;  // "xinjiang"; "overseas international"
};

// The places named in `normalized` (text::Normalize: lower case, NFKC), in
// table order. Latin names match whole words only.
std::vector<PlaceMention> FindPlaces(std::string_view normalized);

}  // namespace kefu::knowledge
