#include "knowledge/places.h"

#include <cctype>

namespace kefu::knowledge {

namespace {

struct Region {
  std::string_view zh;
  std::string_view en;
  std::initializer_list<std::string_view> places;  // Chinese and English names, lower case
};

// The prefecture-level cities and prefectures of the provinces shops treat as
// remote, the cities of Hong Kong, Macau and Taiwan people name instead of
// the region, and countries. Names that are mostly something else are left
// out: 阿里 (the company), 白银 (silver), 东方 (the east), 海东/海西/海北.
const Region kRegions[] = {
    {"新疆", "xinjiang", {"乌鲁木齐", "克拉玛依", "吐鲁番",   "哈密",   "昌吉",   "博尔塔拉", "博乐",     "巴音郭楞",
                          "库尔勒",   "阿克苏",   "克孜勒苏", "阿图什", "喀什",   "和田",     "伊犁",     "伊宁",
                          "塔城",     "阿勒泰",   "石河子",   "奎屯",   "五家渠", "阿拉尔",   "图木舒克", "北屯",
                          "urumqi",   "karamay",  "turpan",   "turfan", "hami",   "korla",    "aksu",     "kashgar",
                          "kashi",    "hotan",    "khotan",   "yining", "ghulja", "altay",    "shihezi",  "kuytun"}},
    {"西藏",
     "tibet",
     {"拉萨", "日喀则", "昌都", "林芝", "山南", "那曲", "lhasa", "shigatse", "xigaze", "chamdo", "qamdo", "nyingchi",
      "nagqu", "xizang"}},
    {"青海", "qinghai", {"西宁", "格尔木", "德令哈", "玉树", "果洛", "黄南", "xining", "golmud", "delingha", "yushu"}},
    {"内蒙古", "inner mongolia", {"呼和浩特",  "包头",     "乌海",    "赤峰",      "通辽",    "鄂尔多斯", "呼伦贝尔",
                                  "巴彦淖尔",  "乌兰察布", "兴安盟",  "锡林郭勒",  "阿拉善",  "满洲里",   "二连浩特",
                                  "海拉尔",    "hohhot",   "baotou",  "wuhai",     "chifeng", "tongliao", "ordos",
                                  "hulunbuir", "bayannur", "ulanqab", "manzhouli", "erenhot", "hailar"}},
    {"宁夏", "ningxia", {"银川", "石嘴山", "吴忠", "固原", "yinchuan", "shizuishan", "wuzhong", "guyuan"}},
    {"甘肃", "gansu", {"兰州",      "嘉峪关",   "金昌",     "天水",   "武威",    "张掖",      "平凉",
                       "酒泉",      "庆阳",     "陇南",     "临夏",   "甘南",    "敦煌",      "lanzhou",
                       "jiayuguan", "jinchang", "tianshui", "wuwei",  "zhangye", "pingliang", "jiuquan",
                       "qingyang",  "dingxi",   "longnan",  "linxia", "dunhuang"}},
    {"海南",
     "hainan",
     {"海口", "三亚", "三沙", "儋州", "琼海", "文昌", "五指山", "陵水", "haikou", "sanya", "sansha", "danzhou",
      "qionghai", "wanning", "wenchang", "lingshui"}},
    {"香港",
     "hong kong",
     {"九龙", "铜锣湾", "尖沙咀", "旺角", "新界", "kowloon", "causeway bay", "tsim sha tsui", "mong kok", "hk"}},
    {"澳门", "macau", {"氹仔", "路环", "taipa", "macao"}},
    {"台湾",
     "taiwan",
     {"台北", "新北", "高雄", "台南", "桃园", "新竹", "基隆", "花莲", "taipei", "kaohsiung", "taichung", "tainan",
      "taoyuan", "hsinchu", "keelung", "hualien"}},
    {"海外",
     "overseas international",
     {"国外",        "境外",        "出国",        "新加坡",      "马来西亚",      "日本",      "韩国",
      "美国",        "英国",        "加拿大",      "澳大利亚",    "澳洲",          "新西兰",    "德国",
      "法国",        "意大利",      "西班牙",      "荷兰",        "瑞士",          "瑞典",      "俄罗斯",
      "泰国",        "越南",        "菲律宾",      "印尼",        "印度尼西亚",    "印度",      "迪拜",
      "阿联酋",      "巴西",        "墨西哥",      "美帝",        "abroad",        "singapore", "malaysia",
      "japan",       "korea",       "usa",         "america",     "united states", "uk",        "britain",
      "england",     "canada",      "australia",   "new zealand", "germany",       "france",    "italy",
      "spain",       "netherlands", "switzerland", "sweden",      "russia",        "thailand",  "vietnam",
      "philippines", "indonesia",   "india",       "dubai",       "uae",           "brazil",    "mexico",
      "europe",      "london",      "new york",    "tokyo",       "seoul",         "sydney",    "melbourne",
      "toronto",     "vancouver",   "paris",       "berlin",      "kuala lumpur",  "bangkok"}},
};

bool IsLatinLetter(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

// `name` occurs in `text`; a Latin name as whole words ("hk", not "thk").
bool Mentions(std::string_view text, std::string_view name) {
  const bool latin = static_cast<unsigned char>(name[0]) < 0x80;
  for (size_t at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
    if (!latin) return true;
    const size_t end = at + name.size();
    if ((at == 0 || !IsLatinLetter(text[at - 1])) && (end == text.size() || !IsLatinLetter(text[end]))) return true;
  }
  return false;
}

}  // namespace

std::vector<PlaceMention> FindPlaces(std::string_view normalized) {
  std::vector<PlaceMention> out;
  for (const Region& r : kRegions)
    for (std::string_view place : r.places)
      if (Mentions(normalized, place)) out.push_back({std::string(place), std::string(r.zh), std::string(r.en)});
  return out;
}

}  // namespace kefu::knowledge
