; Bash: functions, read-only variables and sourced files.

(function_definition name: (word) @name) @definition.function
(program
  (declaration_command
    "readonly"
    (variable_assignment name: (variable_name) @name)) @definition.constant)
(program
  (declaration_command
    "declare"
    (word) @_flags
    (variable_assignment name: (variable_name) @name)) @definition.constant
  (#match? @_flags "^-[a-zA-Z]*r"))

; source ./lib.sh  and  . ./lib.sh  (the first argument is the file)
(command
  name: (command_name) @_command
  .
  argument: [(word) (string) (raw_string) (concatenation)] @import.module
  (#any-of? @_command "source" ".")) @import
