# websocketpp 0.8.2 (Debian's, byte-identical to upstream) does not compile as C++20:
# it names constructors and destructors with template-ids ("endpoint<connection,config>()").
# Upstream fixed it in commit 3197a52 on the unreleased develop branch. We copy the
# headers into the build tree and apply the same three replacements, then expose the
# copy as the SYSTEM include target aistrack_wspp. The Debian package stays untouched.
#
# Result: target `aistrack_ws_deps` (websocketpp + standalone Asio + OpenSSL + threads).
get_target_property(_aistrack_wspp_inc websocketpp::websocketpp INTERFACE_INCLUDE_DIRECTORIES)
if(NOT _aistrack_wspp_inc)
  set(_aistrack_wspp_inc /usr/include)
endif()
list(GET _aistrack_wspp_inc 0 _aistrack_wspp_inc)
set(_w ${CMAKE_BINARY_DIR}/wspp-cxx20)
if(NOT EXISTS ${_w}/websocketpp/version.hpp)
  file(COPY ${_aistrack_wspp_inc}/websocketpp DESTINATION ${_w})
  foreach(_f endpoint.hpp logger/basic.hpp roles/server_endpoint.hpp)
    file(READ ${_w}/websocketpp/${_f} _t)
    string(REPLACE "endpoint<connection,config>()" "endpoint()" _t "${_t}")
    string(REPLACE "basic<concurrency,names>(" "basic(" _t "${_t}")
    string(REPLACE "server<config>(" "server(" _t "${_t}")
    file(WRITE ${_w}/websocketpp/${_f} "${_t}")
  endforeach()
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
