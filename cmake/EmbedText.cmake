# Writes OUTPUT: a C++ file defining `std::string_view NAMESPACE::FUNCTION() noexcept` that returns the
# bytes of INPUT, so a document kept in the source tree (docs/openapi.json) is served by a binary that
# runs from anywhere. Run as `cmake -DINPUT=… -DOUTPUT=… -DNAMESPACE=… -DFUNCTION=… -P EmbedText.cmake`.
# INPUT must be ASCII (JSON can say everything else with \u escapes): it is cut into literals of at most
# 16 KiB, below the 64 KiB a compiler must support (clang's -Woverlength-strings), at byte offsets.
file(READ "${INPUT}" content)
if(NOT content MATCHES "^[\t\n\r -~]*$")
  message(FATAL_ERROR "${INPUT} has bytes outside printable ASCII; write them as \\u escapes")
endif()
string(FIND "${content}" ")embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )embedded\"")
endif()
string(LENGTH "${content}" length)
set(pieces "")
set(offset 0)
while(offset LESS length)
  string(SUBSTRING "${content}" ${offset} 16384 piece)
  string(APPEND pieces "      R\"embedded(${piece})embedded\",\n")
  math(EXPR offset "${offset} + 16384")
endwhile()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/EmbedText.cmake: edit that file, not this one.
#include <string>
#include <string_view>
namespace ${NAMESPACE} {
std::string_view ${FUNCTION}() noexcept {
  static const std::string kText = [] {
    std::string text;
    for (const char* piece : {
${pieces}         }) {
      text += piece;
    }
    return text;
  }();
  return kText;
}
}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
