# aistrack_harden(<target>): our warning flags (-Werror when AISTRACK_WERROR) and the
# sanitizers named in AISTRACK_SANITIZE. Third-party headers come in as SYSTEM
# includes (imported targets), so their warnings never fail our build.
function(aistrack_harden target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual)
  if(AISTRACK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(AISTRACK_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${AISTRACK_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${AISTRACK_SANITIZE})
  endif()
endfunction()
