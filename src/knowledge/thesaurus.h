// The words shoppers and shops use for the same thing in English, built in
// beside each tenant's own synonym groups: "yearly fee" / "annual fee", "my
// points run out" / "points expire", "the glass shattered" / "damaged". The
// tenant's entries are written one way; customers ask another
// (TenantIndex::Search adds a matched member's group at synonym weight).
#pragma once

#include <string>
#include <vector>

namespace kefu::knowledge {

// Groups of equivalent English words and phrases (lower case). A member
// matches whole words, with a regular inflection ("expired", "cracks").
const std::vector<std::vector<std::string>>& EnglishThesaurus();
// The same for Chinese shop talk ("库存不足" / "缺货", "拆开" / "拆封").
const std::vector<std::vector<std::string>>& ChineseThesaurus();

}  // namespace kefu::knowledge
