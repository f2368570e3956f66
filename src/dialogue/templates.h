// Reply templates of the grounded responder: turn knowledge passages and
// business-tool results (JSON from src/tools) into Chinese replies.
// Pure functions; the wording lives here and nowhere else.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kefu::dialogue::templates {

std::string Greeting();
std::string KnowledgeAnswer(const std::string& title, const std::string& body);
std::string Clarify(const std::vector<std::string>& titles);
// The same in English, for customers who write in English.
std::string ClarifyEnglish(const std::vector<std::string>& titles);
// No reliable answer (the question's key word is one the knowledge base does
// not know), with the nearest entries offered as choices.
std::string UnknownWithChoices(const std::vector<std::string>& titles);
std::string UnknownWithChoicesEnglish(const std::vector<std::string>& titles);
std::string Logistics(const nlohmann::json& track_result);
// A follow-up asking only when it arrives ("那它什么时候到？").
std::string ArrivalTime(const nlohmann::json& track_result);
std::string OrderStatus(const nlohmann::json& order_result);
// English versions for customers who write in English (facts as above; item names stay as sold).
std::string LogisticsEnglish(const nlohmann::json& r);
std::string OrderStatusEnglish(const nlohmann::json& r);
// English name of an order state code ("paid" → "paid, not shipped yet").
std::string StatusEnglish(const std::string& code);
std::string OrderList(const nlohmann::json& list_result);
std::string Products(const std::string& query, const nlohmann::json& search_result);
// The same for a customer who writes English (the catalogue's names stay as they are).
std::string ProductsEnglish(const nlohmann::json& search_result);
std::string Handoff(const nlohmann::json& request_human_result);
// "2026-11-23 14:05" in China Standard Time (UTC+8).
std::string FormatTime(int64_t ms);
std::string FormatYuan(double yuan);

}  // namespace kefu::dialogue::templates
