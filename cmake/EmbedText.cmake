# Writes OUTPUT: a C++ file defining `std::string_view NAMESPACE::FUNCTION() noexcept` that returns the
# bytes of INPUT, so a document kept in the source tree (docs/openapi.json) is served by a binary that
# runs from anywhere. Run as `cmake -DINPUT=… -DOUTPUT=… -DNAMESPACE=… -DFUNCTION=… -P EmbedText.cmake`.
file(READ "${INPUT}" content)
string(FIND "${content}" ")embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )embedded\"")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/EmbedText.cmake: edit that file, not this one.
#include <string_view>
namespace ${NAMESPACE} {
std::string_view ${FUNCTION}() noexcept {
  static constexpr std::string_view kText = R\"embedded(${content})embedded\";
  return kText;
}
}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
