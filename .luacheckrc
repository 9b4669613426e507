std = "lua54"
max_line_length = 120
files["lua/gameliftstreams/model.lua"] = { max_line_length = false }
files["spec/"] = { std = "+busted" }
exclude_files = { "build/", "lua_modules/", ".luarocks/" }
