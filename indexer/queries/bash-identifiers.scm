; Bash: variables, and the commands and functions called by name ($1, $@ are not names).
((variable_name) @identifier
  (#match? @identifier "^[A-Za-z_]"))
((command_name (word) @identifier)
  (#match? @identifier "^[A-Za-z_][A-Za-z0-9_-]*$"))
(function_definition name: (word) @identifier)
