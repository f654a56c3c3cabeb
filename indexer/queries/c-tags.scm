; C (also inherited by C++): definitions and includes.

(function_definition
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (identifier) @name))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name)))) @definition.function

; prototypes at file level (what headers are made of)
(translation_unit
  (declaration
    declarator: (function_declarator declarator: (identifier) @name)) @definition.function)
(translation_unit
  (declaration
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name))) @definition.function)

(struct_specifier name: (type_identifier) @name body: (_)) @definition.class
(union_specifier name: (type_identifier) @name body: (_)) @definition.class
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type

(preproc_def name: (identifier) @name) @definition.constant
(preproc_function_def name: (identifier) @name) @definition.function
(translation_unit
  (declaration
    (type_qualifier) @_qualifier
    declarator: (init_declarator declarator: (identifier) @name)) @definition.constant
  (#any-of? @_qualifier "const" "constexpr"))

; #include <stdio.h> (module "<stdio.h>": the brackets stay)  #include "util.h" (util.h)
(preproc_include path: (_) @import.module) @import
