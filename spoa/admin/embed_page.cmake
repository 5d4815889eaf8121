# Writes a .cc holding topology_page.html as a string, so the agent serves GET / from its binary
# (no file to install, nothing to build with node). Run by CMake at build time.
file(READ ${INPUT} html)
string(FIND "${html}" ")myspoa_html\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )myspoa_html\"")
endif()
file(WRITE ${OUTPUT} "// Generated from spoa/admin/topology_page.html by embed_page.cmake. Do not edit.\n"
  "#include \"spoa/admin/topology_page.h\"\nnamespace myspoa::admin {\n"
  "std::string_view topology_page_html() {\n  return R\"myspoa_html(${html})myspoa_html\";\n}\n}\n")
