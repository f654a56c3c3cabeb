; inherits: c
; C++: the C patterns plus classes, namespaces, methods and aliases.

(class_specifier name: (type_identifier) @name body: (_)) @definition.class
(namespace_definition name: (_) @name) @definition.module
(alias_declaration name: (type_identifier) @name) @definition.type

; methods defined inside a class body
(function_definition
  declarator: (function_declarator
    declarator: [(field_identifier) (destructor_name) (operator_name)] @name)) @definition.method
(function_definition
  declarator: (reference_declarator
    (function_declarator declarator: (field_identifier) @name))) @definition.method
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (field_identifier) @name))) @definition.method

; methods declared inside a class body
(field_declaration_list
  (declaration
    declarator: (function_declarator declarator: (_) @name)) @definition.method)
(field_declaration_list
  (field_declaration
    declarator: (function_declarator declarator: (_) @name)) @definition.method)

; Type::method defined outside its class: the qualifier names the scope.
(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier scope: (_) @receiver name: (_) @name))) @definition.method
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (qualified_identifier scope: (_) @receiver name: (_) @name)))) @definition.method
(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: (qualified_identifier scope: (_) @receiver name: (_) @name)))) @definition.method

; constants and prototypes inside namespaces
(declaration_list
  (declaration
    (type_qualifier) @_qualifier
    declarator: (init_declarator declarator: (identifier) @name)) @definition.constant
  (#any-of? @_qualifier "const" "constexpr"))
(declaration_list
  (declaration
    declarator: (function_declarator declarator: (identifier) @name)) @definition.function)
