; inherits: ecma
; TypeScript: the shared ECMAScript patterns plus types, interfaces, enums and namespaces.

(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(type_alias_declaration name: (_) @name) @definition.type
(enum_declaration name: (_) @name) @definition.enum
(method_signature name: (property_identifier) @name) @definition.method
(abstract_method_signature name: (property_identifier) @name) @definition.method
(function_signature name: (identifier) @name) @definition.function
(internal_module name: (_) @name) @definition.module
(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method
(module name: (_) @name) @definition.module

; import fs = require("fs")
(import_require_clause source: (string) @import.module) @import
