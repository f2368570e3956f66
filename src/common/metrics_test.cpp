#include "common/metrics.h"

#include <gtest/gtest.h>

namespace kefu::metrics {

TEST(Metrics, RendersPrometheusText) {
  Registry r;
  r.GetCounter("kefu_requests_total", "Requests", "code=\"200\"").Inc(3);
  r.GetGauge("kefu_open_conversations", "Open").Set(2);
  auto& h = r.GetHistogram("kefu_turn_seconds", "Turn latency", "", {0.01, 0.1});
  h.Observe(0.005);
  h.Observe(0.05);
  h.Observe(5);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE kefu_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("kefu_requests_total{code=\"200\"} 3"), std::string::npos);
  EXPECT_NE(text.find("kefu_open_conversations 2"), std::string::npos);
  EXPECT_NE(text.find("kefu_turn_seconds_bucket{le=\"0.01\"} 1"), std::string::npos);
  EXPECT_NE(text.find("kefu_turn_seconds_bucket{le=\"0.1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("kefu_turn_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("kefu_turn_seconds_count 3"), std::string::npos);
}

TEST(Metrics, SameNameAndLabelsIsSameMetric) {
  Registry r;
  r.GetCounter("c", "h").Inc();
  r.GetCounter("c", "h").Inc();
  EXPECT_EQ(r.GetCounter("c", "h").Value(), 2);
}

}  // namespace kefu::metrics
