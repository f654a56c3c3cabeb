; Go: definitions and imports.

(function_declaration name: (identifier) @name) @definition.function

; func (s *Server[T]) Start(...): the receiver's type names the method's scope.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @receiver
        (pointer_type (type_identifier) @receiver)
        (generic_type type: (type_identifier) @receiver)
        (pointer_type (generic_type type: (type_identifier) @receiver))
      ]))
  name: (field_identifier) @name) @definition.method

; type X struct {...} / interface {...} / anything else (parse.py keeps the most
; specific kind when several patterns capture the same node).
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.class
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(method_elem name: (field_identifier) @name) @definition.method

; `const X, Y = 1, 2`: only the first name carries the `name` field
(const_spec (identifier) @name) @definition.constant

; import "fmt";  import ( log "github.com/x/logrus" )
(import_spec path: (_) @import.module) @import
