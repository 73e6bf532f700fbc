# websocketpp 0.8.2 (Debian's, byte-identical to upstream) does not compile as C++20:
# it names constructors and destructors with template-ids ("endpoint<connection,config>()").
# Upstream fixed it in commit 3197a52 on the unreleased develop branch. We copy the
# headers into the build tree and apply the same three replacements, then expose the
# copy as the SYSTEM include target aistrack_wspp. The Debian package stays untouched.
#
# A second, smaller patch: websocketpp checks every byte of a text frame with a UTF-8 state
# machine (utf8_validator.hpp), which cost more than receiving the frame (2.3 ns a byte, 1.4 us
# for a 600-byte aisstream.io message; docs/PERFORMANCE.md). ASCII runs now pass 8 bytes a step
# while the machine is between characters; every other byte still goes through it, so what is
# accepted and rejected is unchanged (tests/test_utf8_validator.cpp compares both on random input).
#
# Result: target `aistrack_ws_deps` (websocketpp + standalone Asio + OpenSSL + threads).
get_target_property(_aistrack_wspp_inc websocketpp::websocketpp INTERFACE_INCLUDE_DIRECTORIES)
if(NOT _aistrack_wspp_inc)
  set(_aistrack_wspp_inc /usr/include)
endif()
list(GET _aistrack_wspp_inc 0 _aistrack_wspp_inc)
set(_w ${CMAKE_BINARY_DIR}/wspp-cxx20)
# Bump when the patches change, so existing build trees copy and patch again.
set(_aistrack_wspp_stamp ${_w}/aistrack-patches-3)
if(NOT EXISTS ${_aistrack_wspp_stamp})
  file(REMOVE_RECURSE ${_w})
  file(COPY ${_aistrack_wspp_inc}/websocketpp DESTINATION ${_w})
  foreach(_f endpoint.hpp logger/basic.hpp roles/server_endpoint.hpp)
    file(READ ${_w}/websocketpp/${_f} _t)
    string(REPLACE "endpoint<connection,config>()" "endpoint()" _t "${_t}")
    string(REPLACE "basic<concurrency,names>(" "basic(" _t "${_t}")
    string(REPLACE "server<config>(" "server(" _t "${_t}")
    file(WRITE ${_w}/websocketpp/${_f} "${_t}")
  endforeach()
  set(_f ${_w}/websocketpp/utf8_validator.hpp)
  file(READ ${_f} _t)
  # The marker lets tests/test_utf8_validator.cpp refuse to run against the unpatched header.
  string(REPLACE "#include <string>\n" "#include <cstring>\n#include <string>\n\n#define AISTRACK_WSPP_UTF8_FAST_PATH 1\n" _t "${_t}")
  string(REPLACE
    "        for (iterator_type it = begin; it != end; ++it) {\n            unsigned int result"
    "        for (iterator_type it = begin; it != end; ++it) {
            if (m_state == utf8_accept) { // aistrack: ASCII runs 8 bytes a step
                while (end - it >= 8) {
                    uint64_t w;
                    std::memcpy(&w, &*it, 8);
                    if (w & 0x8080808080808080ULL) break;
                    it += 8;
                }
                if (it == end) break;
            }
            unsigned int result"
    _t "${_t}")
  string(FIND "${_t}" "#include <cstring>" _has_include)
  string(FIND "${_t}" "aistrack: ASCII runs" _has_loop)
  if(_has_include EQUAL -1 OR _has_loop EQUAL -1)
    message(FATAL_ERROR "websocketpp's utf8_validator.hpp is not the 0.8.2 text the aistrack patch expects")
  endif()
  file(WRITE ${_f} "${_t}")
  file(WRITE ${_aistrack_wspp_stamp} "C++20 constructor names; ASCII fast path in utf8_validator\n")
endif()
set(AISTRACK_WSPP_INCLUDE_DIR ${_w} CACHE INTERNAL "patched websocketpp headers")
add_library(aistrack_ws_deps INTERFACE)
target_include_directories(aistrack_ws_deps SYSTEM INTERFACE ${_w})
# ASIO_STANDALONE: without it websocketpp silently switches to Boost.Asio because
# Boost headers are installed. Never define ASIO_NO_DEPRECATED (websocketpp needs io_service).
target_compile_definitions(aistrack_ws_deps INTERFACE ASIO_STANDALONE)
target_link_libraries(aistrack_ws_deps INTERFACE OpenSSL::SSL OpenSSL::Crypto ZLIB::ZLIB Threads::Threads)

# For installed targets: the same, privately, without putting the build-tree-only
# aistrack_ws_deps into the exported link interface (only find_dependency-able targets).
function(aistrack_use_websocketpp target)
  target_include_directories(${target} SYSTEM PRIVATE ${AISTRACK_WSPP_INCLUDE_DIR})
  target_compile_definitions(${target} PRIVATE ASIO_STANDALONE)
  target_link_libraries(${target} PRIVATE OpenSSL::SSL OpenSSL::Crypto ZLIB::ZLIB Threads::Threads)
endfunction()
