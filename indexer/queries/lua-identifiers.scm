; Lua: every name used or defined (fields included).
(identifier) @identifier
