#include "app/import_cli.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/clock.h"
#include "datahub/ingest.h"

namespace kefu::app {

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  CsvRecord rec;
  std::string cell;
  size_t line = 1;
  bool quoted = false, in_record = false, cell_was_quoted = false;
  size_t quote_line = 0;
  auto end_cell = [&] {
    rec.cells.push_back(std::move(cell));
    cell.clear();
    cell_was_quoted = false;
  };
  auto end_record = [&] {
    end_cell();
    bool blank = rec.cells.size() == 1 && rec.cells[0].empty();
    if (!blank) out.push_back(std::move(rec));
    rec = CsvRecord{};
    in_record = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!in_record) {
      rec.line = line;
      in_record = true;
    }
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        cell.push_back(c);
      }
      continue;
    }
    if (c == '"' && cell.empty() && !cell_was_quoted) {
      quoted = true;
      cell_was_quoted = true;
      quote_line = line;
    } else if (c == ',') {
      end_cell();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else if (c == '\n') {
      end_record();
      ++line;
    } else {
      cell.push_back(c);
    }
  }
  if (quoted) return InvalidArgument("line " + std::to_string(quote_line) + ": unterminated quoted field");
  if (in_record) end_record();
  return out;
}

namespace {

void Progress(size_t done, size_t total) {
  constexpr int kWidth = 30;
  int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu rows", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), done, total);
  std::fflush(stderr);
}

int RunImport(const KbCliDeps& deps, const std::string& kind_name, const std::string& file, const std::string& tenant,
              const std::string& source, const std::string& data_dir, size_t batch_size) {
  auto kind = datahub::ParseKind(kind_name);
  if (!kind) {
    std::cerr << "error: unknown kind '" << kind_name
              << "' (customers, products, inventory, orders, logistics, tickets, browsing, transactions)\n";
    return 2;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "error: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto rows = ParseCsv(ss.str());
  if (!rows.ok()) {
    std::cerr << "error: " << file << ": " << rows.status().message() << "\n";
    return 2;
  }
  if (rows->empty()) {
    std::cerr << "error: " << file << " has no header row\n";
    return 2;
  }
  auto config = deps.load_config();
  if (!config.ok()) {
    std::cerr << "error: invalid configuration: " << config.status().message() << "\n";
    return 2;
  }
  if (!data_dir.empty()) config->storage.data_dir = data_dir;
  auto db = deps.open_database(*config);
  if (!db.ok()) {
    std::cerr << "error: " << db.status().ToString() << "\n";
    return 2;
  }
  const Clock& clock = SystemClock::Instance();
  datahub::IdentityService identity(**db, clock);
  datahub::IngestSettings settings;
  settings.max_batch = batch_size;
  datahub::IngestService ingest(**db, identity, clock, settings);

  const std::vector<std::string>& header = (*rows)[0].cells;
  size_t total = rows->size() - 1;
  bool tty = ::isatty(STDERR_FILENO);
  datahub::IngestReport sum;
  std::vector<std::pair<size_t, std::string>> errors;  // (line, message)
  size_t done = 0;
  size_t next = 1;
  while (next < rows->size()) {
    nlohmann::json batch = nlohmann::json::array();
    std::vector<size_t> lines;
    for (; next < rows->size() && batch.size() < batch_size; ++next) {
      const CsvRecord& r = (*rows)[next];
      auto rec = datahub::IngestService::RecordFromCsv(*kind, header, r.cells);
      if (!rec.ok()) {
        errors.emplace_back(r.line, "line " + std::to_string(r.line) + ": " + rec.status().message());
        continue;
      }
      batch.push_back(std::move(*rec));
      lines.push_back(r.line);
    }
    done = next - 1;
    if (!batch.empty()) {
      auto report = ingest.Ingest(tenant, *kind, source, batch);
      if (!report.ok()) {
        if (tty) std::fputc('\n', stderr);
        std::cerr << "error: " << report.status().ToString() << "\n";
        return 2;
      }
      sum.created += report->created;
      sum.updated += report->updated;
      sum.unchanged += report->unchanged;
      sum.reordered += report->reordered;
      for (const auto& e : report->rejected) {
        errors.emplace_back(lines[e.index], "line " + std::to_string(lines[e.index]) +
                                                (e.id.empty() ? "" : " (id " + e.id + ")") + ": " + e.reason);
      }
    }
    if (tty) Progress(done, total);
  }
  if (tty) std::fputc('\n', stderr);
  std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& e : errors) std::cerr << e.second << "\n";
  sum.accepted = sum.created + sum.updated;
  std::printf("%s: %zu rows, accepted %lld (created %lld, updated %lld), unchanged %lld, reordered %lld, rejected %zu\n",
              file.c_str(), total, static_cast<long long>(sum.accepted), static_cast<long long>(sum.created),
              static_cast<long long>(sum.updated), static_cast<long long>(sum.unchanged),
              static_cast<long long>(sum.reordered), errors.size());
  return errors.empty() ? 0 : 1;
}

}  // namespace

void RegisterImportCommand(CLI::App& app, KbCliDeps deps) {
  auto* cmd = app.add_subcommand("import", "Import a CSV file of business data through the data hub");
  struct Opts {
    std::string kind, file, tenant = "demo", source = "csv", data_dir;
    size_t batch = 1000;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--kind", o->kind,
                  "customers | products | inventory | orders | logistics | tickets | browsing | transactions")
      ->required();
  cmd->add_option("file", o->file, "CSV file with a header row (docs/datahub.md)")->required();
  cmd->add_option("--tenant", o->tenant, "Tenant id (default demo)");
  cmd->add_option("--source", o->source, "Source system; ids are unique per source (default csv)");
  cmd->add_option("--data-dir", o->data_dir, "State directory (default from the config, ./data)");
  cmd->add_option("--batch", o->batch, "Rows per transaction (1-1000)")->check(CLI::Range(1, 1000));
  cmd->callback([o, deps] {
    int rc = RunImport(deps, o->kind, o->file, o->tenant, o->source, o->data_dir, o->batch);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace kefu::app
