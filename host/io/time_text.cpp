// Civil dates from day counts and back (the proleptic Gregorian calendar, in 400-year eras),
// and the parsing of epoch numbers and RFC 3339 text into a time unit.
#include "host/io/time_text.hpp"

#include <charconv>

#include "host/api/text.hpp"
#include "kernels/ops/floor_div.hpp"

namespace sluice::detail {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

/// Units of `unit` in a second.
constexpr std::int64_t per_second(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::ns:
      return 1'000'000'000;
    case TimeUnit::us:
      return 1'000'000;
    case TimeUnit::ms:
      return 1'000;
    case TimeUnit::s:
      return 1;
  }
  return 1;
}

constexpr int fraction_digits(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::ns:
      return 9;
    case TimeUnit::us:
      return 6;
    case TimeUnit::ms:
      return 3;
    case TimeUnit::s:
      return 0;
  }
  return 0;
}

struct CivilDate {
  std::int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

// Days since 1970-01-01 of a civil date. Years are counted from March, so that the leap day
// ends a year; an era is 400 years (146097 days).
std::int64_t days_from_civil(std::int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(year, 400);
  const std::int64_t year_of_era = year - era * 400;                            // [0, 399]
  const int month_from_march = month > 2 ? month - 3 : month + 9;               // [0, 11]
  const std::int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // [0, 365]
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146097 + day_of_era - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const std::int64_t day_of_era = days - era * 146097;  // [0, 146096]
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t month_from_march = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  const int month =
      static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

void append_digits(std::string& out, std::int64_t value, int width) {
  char buffer[24];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  for (auto n = r.ptr - buffer; n < width; ++n) out += '0';
  out.append(buffer, r.ptr);
}

/// Reads exactly `count` digits at `at`.
bool read_digits(std::string_view text, std::size_t& at, int count, int& out) {
  if (at + static_cast<std::size_t>(count) > text.size()) return false;
  out = 0;
  for (int i = 0; i < count; ++i) {
    const char c = text[at + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  at += static_cast<std::size_t>(count);
  return true;
}

/// `seconds` and `fraction` (of `digits` digits, below a second) as a count of `unit`.
TimeParse to_unit(std::int64_t seconds, std::int64_t fraction, int digits, TimeUnit unit,
                  std::int64_t& out) {
  const int keep = fraction_digits(unit);
  // The fraction's first `keep` digits: further digits are below one unit and dropped.
  std::int64_t units = fraction;
  for (int d = digits; d > keep; --d) units /= 10;
  for (int d = digits; d < keep; ++d) units *= 10;
  // Before 1970 with a fraction, from the next second down: the earliest instant a unit can
  // hold is a whole second's count minus part of one.
  const std::int64_t per = per_second(unit);
  if (seconds < 0 && units > 0) {
    ++seconds;
    units -= per;
  }
  std::int64_t scaled = 0;
  if (__builtin_mul_overflow(seconds, per, &scaled) || __builtin_add_overflow(scaled, units, &out))
    return TimeParse::out_of_range;
  return TimeParse::ok;
}

TimeParse parse_rfc3339(std::string_view text, TimeUnit unit, std::int64_t& out) {
  std::size_t at = 0;
  int year = 0;
  int month = 0;
  int day = 0;
  if (!read_digits(text, at, 4, year) || at >= text.size() || text[at++] != '-' ||
      !read_digits(text, at, 2, month) || at >= text.size() || text[at++] != '-' ||
      !read_digits(text, at, 2, day))
    return TimeParse::bad;
  if (month < 1 || month > 12 || day < 1) return TimeParse::bad;
  const CivilDate next_month = civil_from_days(days_from_civil(year, month, 1) + 31);
  const std::int64_t first = days_from_civil(year, month, 1);
  const std::int64_t month_days = days_from_civil(next_month.year, next_month.month, 1) - first;
  if (day > month_days) return TimeParse::bad;
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::int64_t fraction = 0;
  int fraction_length = 0;
  std::int64_t offset_seconds = 0;
  if (at < text.size()) {
    const char t = text[at++];
    if (t != 'T' && t != 't' && t != ' ') return TimeParse::bad;
    if (!read_digits(text, at, 2, hour) || at >= text.size() || text[at++] != ':' ||
        !read_digits(text, at, 2, minute))
      return TimeParse::bad;
    if (at < text.size() && text[at] == ':') {
      ++at;
      if (!read_digits(text, at, 2, second)) return TimeParse::bad;
      if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
        ++at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          if (fraction_length == 9) return TimeParse::bad;  // beyond nanoseconds
          fraction = fraction * 10 + (text[at++] - '0');
          ++fraction_length;
        }
        if (fraction_length == 0) return TimeParse::bad;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return TimeParse::bad;  // 60: a leap second
    if (at < text.size()) {
      const char zone = text[at++];
      if (zone == 'Z' || zone == 'z') {
        if (at != text.size()) return TimeParse::bad;
      } else if (zone == '+' || zone == '-') {
        int offset_hours = 0;
        int offset_minutes = 0;
        if (!read_digits(text, at, 2, offset_hours)) return TimeParse::bad;
        if (at < text.size() && text[at] == ':') ++at;
        if (at < text.size() && !read_digits(text, at, 2, offset_minutes)) return TimeParse::bad;
        if (at != text.size() || offset_hours > 23 || offset_minutes > 59) return TimeParse::bad;
        offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (zone == '-' ? -1 : 1);
      } else {
        return TimeParse::bad;
      }
    }
  }
  // Four-digit years: far within 64 bits as seconds.
  const std::int64_t seconds = days_from_civil(year, month, day) * kSecondsPerDay + hour * 3600 +
                               minute * 60 + second - offset_seconds;
  return to_unit(seconds, fraction, fraction_length, unit, out);
}

/// An integer or a decimal, its fraction dropped towards the past.
TimeParse parse_epoch_number(std::string_view text, std::int64_t& out) {
  const bool negative = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) text.remove_prefix(1);
  const std::size_t point = text.find('.');
  const std::string_view whole = text.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  if (whole.empty() && fraction.empty()) return TimeParse::bad;
  std::uint64_t magnitude = 0;
  if (!whole.empty()) {
    const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), magnitude);
    if (end != whole.data() + whole.size()) return TimeParse::bad;
    if (ec == std::errc::result_out_of_range) return TimeParse::out_of_range;
    if (ec != std::errc()) return TimeParse::bad;
  }
  bool below = false;  // a non-zero fraction
  for (const char c : fraction) {
    if (c < '0' || c > '9') return TimeParse::bad;
    below = below || c != '0';
  }
  // Towards the past: -1.5 units is -2.
  constexpr std::uint64_t kMostNegative = std::uint64_t{1} << 63;  // of INT64_MIN
  if (!negative) {
    if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) return TimeParse::out_of_range;
    out = static_cast<std::int64_t>(magnitude);
  } else {
    const std::uint64_t down = magnitude + (below ? 1 : 0);
    if (down < magnitude || down > kMostNegative) return TimeParse::out_of_range;
    out = down == kMostNegative ? INT64_MIN : -static_cast<std::int64_t>(down);
  }
  return TimeParse::ok;
}

}  // namespace

void append_rfc3339(std::string& out, std::int64_t value, TimeUnit unit) {
  const std::int64_t per = per_second(unit);
  // Whole seconds towards the past and the units below them, without overflow at the limits.
  std::int64_t seconds = value / per;
  std::int64_t below = value % per;
  if (below < 0) {
    below += per;
    --seconds;
  }
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t in_day = seconds % kSecondsPerDay;
  if (in_day < 0) {
    in_day += kSecondsPerDay;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  if (date.year < 0) out += '-';
  append_digits(out, date.year < 0 ? -date.year : date.year, 4);
  out += '-';
  append_digits(out, date.month, 2);
  out += '-';
  append_digits(out, date.day, 2);
  out += 'T';
  append_digits(out, in_day / 3600, 2);
  out += ':';
  append_digits(out, in_day / 60 % 60, 2);
  out += ':';
  append_digits(out, in_day % 60, 2);
  if (const int digits = fraction_digits(unit); digits > 0) {
    out += '.';
    append_digits(out, below, digits);
  }
  out += 'Z';
}

TimeParse parse_timestamp_text(std::string_view text, TimeUnit unit, std::int64_t& out) {
  text = trim(text);
  if (text.size() > 1 && text.front() == '+' && text[1] == '-') return TimeParse::bad;
  // A date has its first '-' after four digits; an epoch number has none but a leading sign.
  if (text.size() >= 5 && text[4] == '-') return parse_rfc3339(text, unit, out);
  return parse_epoch_number(text, out);
}

}  // namespace sluice::detail
