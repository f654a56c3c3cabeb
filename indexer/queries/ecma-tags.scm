; ECMAScript patterns shared by JavaScript, TypeScript and TSX (they inherit this file).
; Name patterns use (_) where TypeScript uses type_identifier instead of identifier.

(function_declaration name: (_) @name) @definition.function
(generator_function_declaration name: (_) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method
(pair
  key: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.method

; const api = { get() {} }: not a definition, but it scopes the methods inside.
(variable_declarator name: (identifier) @scope.name value: (object)) @scope

; const add = (a, b) => a + b;  var f = function () {}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; Constants: top-level UPPER_CASE `const`, and any exported `const`.
(program
  (lexical_declaration
    kind: "const"
    (variable_declarator name: (identifier) @name) @definition.constant)
  (#match? @name "^_*[A-Z][A-Z0-9_]+$"))
(program
  (export_statement
    declaration: (lexical_declaration
      kind: "const"
      (variable_declarator name: (identifier) @name) @definition.constant)))

; import x, { a, b as c }, * as ns from "m"   (names: x, a, b, *)
(import_statement source: (string) @import.module) @import
(import_statement
  (import_clause (identifier) @import.name)
  source: (string) @import.module) @import
(import_statement
  (import_clause (named_imports (import_specifier name: (_) @import.name)))
  source: (string) @import.module) @import
(import_statement
  (import_clause (namespace_import) @import.name.star)
  source: (string) @import.module) @import

; export { a } from "m";  export * from "m"
(export_statement source: (string) @import.module) @import
(export_statement
  (export_clause (export_specifier name: (_) @import.name))
  source: (string) @import.module) @import
(export_statement "*" @import.name.star source: (string) @import.module) @import

; require("m"), const { a, b } = require("m"), import("m")
(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string) @import.module .)
  (#eq? @_require "require")) @import
(variable_declarator
  name: (object_pattern
    [(shorthand_property_identifier_pattern) @import.name
     (pair_pattern key: (property_identifier) @import.name)])
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @import.module .)
    (#eq? @_require "require")) @import)
(call_expression
  function: (import)
  arguments: (arguments . (string) @import.module)) @import
