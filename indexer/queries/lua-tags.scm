; Lua: functions, UPPER_CASE or <const> globals, and require.

(function_declaration name: (identifier) @name) @definition.function
; function M.new() and function a.b.c(): the table path names the scope
(function_declaration name: (dot_index_expression) @name) @definition.function
; function M:greet(): a method of M
(function_declaration name: (method_index_expression) @name) @definition.method
; f = function () end
(assignment_statement
  (variable_list . name: [(identifier) (dot_index_expression)] @name)
  (expression_list . value: (function_definition))) @definition.function

(chunk
  (assignment_statement
    (variable_list . name: (identifier) @name)) @definition.constant
  (#match? @name "^_*[A-Z][A-Z0-9_]+$"))
(chunk
  (variable_declaration
    (assignment_statement
      (variable_list . name: (identifier) @name))) @definition.constant
  (#match? @name "^_*[A-Z][A-Z0-9_]+$"))
(variable_declaration
  (assignment_statement
    (variable_list
      name: (identifier) @name
      attribute: (attribute (identifier) @_attribute)))
  (#eq? @_attribute "const")) @definition.constant

; require("a.b"), require "a.b"
(function_call
  name: (identifier) @_require
  arguments: (arguments . (string) @import.module)
  (#eq? @_require "require")) @import
