#include "app/ocr_cli.h"

#include "app/ocr_eval.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "channels/image.h"
#include "channels/intake.h"
#include "channels/reader.h"

namespace kefu::app {

namespace {

int RunOcr(const Config& config, const std::vector<std::string>& files, bool timing) {
  const auto& cc = config.channels;
  std::unique_ptr<channels::OcrEngine> ocr;
  if (cc.ocr == "tesseract") {
    channels::TesseractSettings ts;
    ts.languages = cc.ocr_languages;
    ts.tessdata_dir = cc.tessdata_dir;
    auto made = channels::TesseractOcr::Create(ts);
    if (!made.ok()) {
      std::fprintf(stderr, "kefu ocr: %s\n", made.status().message().c_str());
      return 2;
    }
    ocr = std::move(*made);
  }
  std::unique_ptr<channels::CodeScanner> codes;
  if (cc.barcodes) codes = std::make_unique<channels::ZbarScanner>();
  channels::ImageLimits limits;
  limits.max_bytes = cc.max_image_bytes;
  limits.max_pixels = cc.max_image_pixels;
  int rc = 0;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "kefu ocr: cannot read %s\n", path.c_str());
      rc = 1;
      continue;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto t0 = std::chrono::steady_clock::now();
    auto gray = channels::DecodeGray(bytes, limits);
    if (!gray.ok()) {
      const channels::UploadError e = channels::UploadErrorOf(gray.status());
      std::fprintf(stderr, "kefu ocr: %s: %s: %s\n", path.c_str(), e.code.c_str(), e.message.c_str());
      rc = 1;
      continue;
    }
    const auto parts = channels::ReadPicture(*gray, "", ocr.get(), codes.get());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (files.size() > 1) std::printf("== %s\n", path.c_str());
    for (const auto& p : parts) {
      if (p.source != "ocr") std::printf("[%s] ", p.source.c_str());
      std::printf("%s\n", p.text.c_str());
    }
    std::fflush(stdout);
    if (timing) std::fprintf(stderr, "%s: %dx%d, %.0f ms\n", path.c_str(), gray->width, gray->height, ms);
  }
  return rc;
}

}  // namespace

void RegisterOcrCommand(CLI::App& cli, std::function<Result<Config>()> load_config) {
  auto* cmd = cli.add_subcommand("ocr", "Print the text, QR codes and barcodes read in pictures (as the server reads them)");
  auto files = std::make_shared<std::vector<std::string>>();
  auto timing = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "JPEG, PNG, WebP or HEIC files")->required();
  cmd->add_flag("--time", *timing, "Print each picture's size and reading time on stderr");
  cmd->callback([load_config, files, timing] {
    auto config = load_config();
    if (!config.ok()) {
      std::fprintf(stderr, "kefu: invalid configuration: %s\n", config.status().message().c_str());
      std::exit(2);
    }
    std::exit(RunOcr(*config, *files, *timing));
  });
  // kefu eval ocr, beside the other evaluations (registered before this).
  CLI::App* eval = nullptr;
  try {
    eval = cli.get_subcommand("eval");
  } catch (const CLI::OptionNotFound&) {
  }
  if (eval) RegisterOcrEval(*eval, load_config);
}

}  // namespace kefu::app
