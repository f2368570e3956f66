// Loaders for the public datasets in ../shared/data (see its MANIFEST.md) and
// the deterministic train/dev splits that training and `kefu eval` share.
// A split is decided by a hash of the text, so duplicates never straddle it and
// the split does not depend on file order. Labels are normalised to kefu's names
// (sentiment: positive/negative; emotion: CLUEmotion's names; intent: as given).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "nlu/labeled_csv.h"

namespace kefu::nlu {

// $KEFU_DATA, else ../shared/data next to the source tree, else ./../shared/data.
// Empty when none exists.
std::string FindDataDir();

struct DataSplit {
  std::vector<LabeledExample> train;
  std::vector<LabeledExample> dev;
};

// True when the hash bucket of `text` (0..99, salted) is below `percent`.
bool InDevSplit(const std::string& text, int percent, std::string_view salt);

// sentiment/online_shopping_10_cats: 20 % dev.
Result<DataSplit> LoadOnlineShopping(const std::string& data_dir);
// Customer-service chat turns for the sentiment model's third class, 20 % dev
// (salt "#chat"): questions and requests labelled "neutral" from
// matching/afqmc (Alipay customer-service questions, every 10th by a
// hash), matching/lcqmc (general questions, every 2nd), intent/smp2019_ecdt_nlu
// (assistant commands) and dialogue/crosswoz user turns (task requests), all
// without texts containing 谢 (thanks reads positive), plus <source>/demo/intents/intents.csv: complaint rows
// "negative", thanks rows "positive", every other row "neutral". Not one of
// these texts is a review, so the reviews' polarity stays the models' only
// source of positive/negative beyond the 64 demo complaint/thanks rows.
Result<DataSplit> LoadChatTurns(const std::string& data_dir);
// More polar (positive/negative) non-waimai, non-hotel text for sentiment
// training only (weibo_senti_2400 left this set for LoadWeiboSenti in issue 15): senticnet_reviews
// (camera/car/notebook/phone review sentences; a sentence whose aspects
// disagree is left out) and BDCI_Car_2018 (car forum posts whose aspects are
// all -1 or all 1).
Result<std::vector<LabeledExample>> LoadExtraPolarReviews(const std::string& data_dir);
// Review-like texts without their labels, for self-training the sentiment
// model (TrainOptions::self_train), by source: "waimai" (waimai_10k),
// "hotel" (ChnSentiCorp), "car" (BDCI_Car_2018
// train and public test posts) and "senticnet" (review sentences). No label
// of any of these files is read. Not online_shopping (its dev split is the
// in-domain test), nor weibo_senti and the conversation set (labelled
// training data with held-back test parts since issue 15; until then Weibo
// was a source here).
struct UnlabelledSource {
  std::string name;
  std::vector<std::string> texts;
};
Result<std::vector<UnlabelledSource>> LoadUnlabelledReviews(const std::string& data_dir);
// sentiment/conversation_sentiment.auto30k.csv: short chat messages (to a
// chat bot), labels assigned automatically (noisy), positive/negative. The
// file is jieba-segmented with spaces; the spaces are removed except between
// two Latin letters or digits, so a text looks like what a customer types
// (NormaliseSegmentedText). 20 % test by hash (salt "#conversation"); the
// train part is sentiment training data since issue 15.
Result<DataSplit> LoadConversation(const std::string& data_dir);
// sentiment/weibo_senti_2400.csv (label,review): 20 % test by hash (salt
// "#weibo"); the train part is sentiment training data since issue 15.
Result<DataSplit> LoadWeiboSenti(const std::string& data_dir);
// "奖励 就是 亲" -> "奖励就是亲"; "iphone 6 好" -> "iphone 6好".
std::string NormaliseSegmentedText(std::string_view text);

// Everything the shipped sentiment model is trained and tested on, split.
struct SentimentSplits {
  DataSplit shop;          // online_shopping (test = dev: 20 %, "#shop")
  DataSplit chat;          // LoadChatTurns (20 %, "#chat")
  DataSplit conversation;  // LoadConversation (20 %, "#conversation")
  DataSplit weibo;         // LoadWeiboSenti (20 %, "#weibo")
};
Result<SentimentSplits> LoadSentimentSplits(const std::string& data_dir);
// The sentiment training examples: the train parts of every split, then the
// emoji lexicon examples (EmojiLexiconExamples, carried by the short neutral
// chat turns of the train part). `make-splits` writes exactly this as
// sentiment_train.csv and `kefu eval` trains on it.
std::vector<LabeledExample> SentimentTrainingExamples(const SentimentSplits& splits);

// Cross-domain sentiment sets, used whole for testing: "waimai", "hotel"; and
// "conversation" (the whole file, training part included; see LoadConversation).
Result<std::vector<LabeledExample>> LoadSentimentSet(const std::string& data_dir, const std::string& name);
// emotion/cluemotion2020.valid.jsonl, all rows (cross-validation happens in eval).
Result<std::vector<LabeledExample>> LoadCluEmotion(const std::string& data_dir);
// intent/banking77/train.csv: 20 % dev.
Result<DataSplit> LoadBanking77(const std::string& data_dir);
// intent/clinc150/train_val.json: train = train + oos_train, dev = val + oos_val
// (out-of-scope labelled "oos").
Result<DataSplit> LoadClinc150(const std::string& data_dir);

}  // namespace kefu::nlu
