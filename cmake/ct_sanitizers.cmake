# CT_SANITIZE=address,undefined (or thread) instruments every target of the build.
if(CT_SANITIZE)
  message(STATUS "Sanitizers: ${CT_SANITIZE}")
  add_compile_options(-fsanitize=${CT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${CT_SANITIZE})
endif()
