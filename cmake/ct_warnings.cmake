# ct_enable_warnings(target): the project's warning set, applied per target (never globally).
function(ct_enable_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow)
  if(CT_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# ct_asio_target(target): targets with Asio coroutines. GCC 12 reports a false
# -Wmismatched-new-delete on Asio's awaitable frame allocator (sized delete of a frame
# allocated by its own operator new), so that one warning is turned off there.
function(ct_asio_target target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
endfunction()
