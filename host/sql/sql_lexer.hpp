// The tokens of a SQL script, and errors that point at a place in it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/status.hpp"

namespace sluice::sql {

/// @brief One token. Keywords are words: is_word() compares them without regard to case.
struct Token {
  enum class Kind : unsigned char {
    word,     ///< an identifier or keyword, as written
    quoted,   ///< a `back-quoted` or "double-quoted" identifier (its text unquoted)
    integer,  ///< digits
    decimal,  ///< digits with a fraction or an exponent
    string,   ///< 'text' (its text unquoted, '' read as ')
    symbol,   ///< ( ) , ; . * + - / = <> != < <= > >=
    end,      ///< after the last token
  };
  Kind kind = Kind::end;
  std::string text;
  std::size_t offset = 0;  ///< of the token's first character in the script

  /// @brief Whether this is the unquoted word `upper` (given in upper case), in any case.
  bool is_word(std::string_view upper) const;
  bool is_symbol(std::string_view s) const { return kind == Kind::symbol && text == s; }
};

/// @brief The tokens of `script`, the last of kind end. Comments (-- to the end of the line,
/// /* ... */) and whitespace separate tokens.
/// @throws Error(parse_error) from error_at() for an unterminated string, identifier or comment
/// and for a character that starts no token.
std::vector<Token> tokenize(std::string_view script);

/// @brief "line L, column C: MESSAGE", then the script's line L and a caret under column C
/// (columns count bytes from 1; a tab before the caret is kept so that it lines up).
std::string message_at(std::string_view script, std::size_t offset, std::string_view message);

/// @brief Throws Error(`code`, message_at(script, offset, message)).
[[noreturn]] void error_at(std::string_view script, std::size_t offset, std::string_view message,
                           ErrorCode code = ErrorCode::parse_error);

}  // namespace sluice::sql
