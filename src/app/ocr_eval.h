// `kefu eval ocr`: how well and how fast the server reads pictures.
// Generated screenshots with known text (app/ocr_screens.h: order pages,
// waybill pages and error dialogs, Chinese and English) under one condition
// at a time — text size, light/dark/coloured/noisy page, JPEG quality, a
// small rotation — go through the server's own picture path
// (channels::PictureIntake: sniffing, decoding, cleaning, the [channels] OCR
// engine and code scanner), and the report gives, per condition and overall:
// the character error rate (CER) of the OCR text against the known text,
// whether the key token (order number, waybill number, error code) was read
// exactly, and the reading latency p50/p95. The same documents (seeded) are
// drawn in every condition, so conditions differ only in how they look.
//
// These are generated pictures, not photos of phone screens: the figures say
// how the OCR path does on crisp rendered text, nothing about camera shots.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "voice/error_rate.h"

namespace kefu::app {

// The characters a CER counts: every code point of `text` except white
// space (line breaks and spacing are layout, not content; tesseract's
// chi_sim also drops or adds spaces between Chinese characters), with
// full-width ASCII forms (：，（１) and the ideographic space folded to their
// ASCII forms. Case and all other punctuation count.
std::vector<std::string> OcrCharacters(std::string_view text);

// Edit counts of `hypothesis` against `reference` over OcrCharacters;
// rate() is the CER.
voice::EditCounts OcrCer(std::string_view reference, std::string_view hypothesis);

// True when `token` occurs in `text` as is (no space inside, same case) and
// is not part of a longer run of letters and digits: what the order and
// logistics tools need to find it.
bool HasExactToken(std::string_view text, std::string_view token);

struct OcrEvalOptions {
  uint64_t seed = 17;
  int per_kind = 2;                 // documents of each of the six kinds, per condition
  std::vector<std::string> only;    // condition names (default: all)
  std::string save_dir;             // "" = keep no pictures; else write each picture and its reference here
};

// The conditions `kefu eval ocr` runs, by name (clean_16, dark, jpeg_q40, ...).
std::vector<std::string> OcrConditionNames();

Result<nlohmann::json> RunOcrEval(const Config& config, const OcrEvalOptions& options);
std::string OcrEvalMarkdown(const nlohmann::json& report);

void RegisterOcrEval(CLI::App& eval, std::function<Result<Config>()> load_config);

}  // namespace kefu::app
