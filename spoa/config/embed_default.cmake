# Writes a .cc holding the lab configuration as the agent's embedded default.
file(READ ${INPUT} yaml)
file(WRITE ${OUTPUT} "// Generated from tests/lab/myspoa.yaml by embed_default.cmake. Do not edit.\n"
  "#include \"spoa/config/config.h\"\nnamespace myspoa::config {\n"
  "const char* default_config_yaml() {\n  return R\"myspoa_yaml(${yaml})myspoa_yaml\";\n}\n}\n")
