// kefu ocr FILE...: prints what the server would read in each picture — the
// QR codes and barcodes, then the OCR text — with the configured engines
// ([channels] ocr, ocr_languages, tessdata_dir, barcodes) and the same limits.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/status.h"

namespace kefu::app {

void RegisterOcrCommand(CLI::App& cli, std::function<Result<Config>()> load_config);

}  // namespace kefu::app
