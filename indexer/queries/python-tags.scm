; Python: definitions and imports.
; Capture names are the contract with parse.py (see its module docstring).

(function_definition name: (identifier) @name) @definition.function
(class_definition name: (identifier) @name) @definition.class
(type_alias_statement left: (type (identifier) @name)) @definition.type

; Constants: UPPER_CASE names assigned at module or class level.
(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.constant)
  (#match? @name "^_*[A-Z][A-Z0-9_]+$"))
(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name) @definition.constant))
  (#match? @name "^_*[A-Z][A-Z0-9_]+$"))

; import a.b, c as d  -> one import per module
(import_statement name: (dotted_name) @import.module @import)
(import_statement
  name: (aliased_import name: (dotted_name) @import.module) @import)

; from ..a.b import c, d as e, *  (leading dots are the relative level)
(import_from_statement
  module_name: (_) @import.module.dotted
  name: (dotted_name) @import.name) @import
(import_from_statement
  module_name: (_) @import.module.dotted
  name: (aliased_import name: (dotted_name) @import.name)) @import
(import_from_statement
  module_name: (_) @import.module.dotted
  (wildcard_import) @import.name.star) @import
