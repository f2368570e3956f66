// What a customer message asks for, as a key two rewordings share: the
// repeat detector counts messages with the same key as the same question
// (routing's "asked three times → a human"), however they are worded.
//   - where a parcel is ("我的快递到哪了", "我是问我那个包裹现在在哪", "快递到底到哪了啊"):
//     "order:where:<order number>:<goods named>" (two different goods are two needs);
//   - otherwise the knowledge entry that answers it (any of its languages), when
//     the search is at least `min_confidence` sure;
//   - "" when nothing tells (the detector then compares the texts).
#pragma once

#include <string>

#include "knowledge/knowledge_base.h"

namespace kefu::dialogue {

std::string NeedKey(const knowledge::KnowledgeBase& kb, const std::string& tenant, const std::string& text,
                    double min_confidence, int top_k);

}  // namespace kefu::dialogue
