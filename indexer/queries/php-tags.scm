; PHP: definitions, use declarations and require/include.

(function_definition name: (name) @name) @definition.function
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.interface
(enum_declaration name: (name) @name) @definition.enum
(method_declaration name: (name) @name) @definition.method
(namespace_definition name: (namespace_name) @name) @definition.module
(const_declaration (const_element (name) @name) @definition.constant)

; use App\Models\User;  use function App\f;  (one import per clause)
(namespace_use_declaration
  (namespace_use_clause . [(qualified_name) (name)] @import.module) @import)
; use App\Support\{Str, Arr as A};
(namespace_use_declaration
  (namespace_name) @import.module
  body: (namespace_use_group
    (namespace_use_clause . [(name) (qualified_name)] @import.name))) @import

; require 'x.php';  require_once('x.php');  include __DIR__ . '/x.php' (module "./x.php")
(require_expression [(string) (encapsed_string)] @import.module) @import
(require_once_expression [(string) (encapsed_string)] @import.module) @import
(include_expression [(string) (encapsed_string)] @import.module) @import
(include_once_expression [(string) (encapsed_string)] @import.module) @import
(require_expression
  (parenthesized_expression [(string) (encapsed_string)] @import.module)) @import
(require_once_expression
  (parenthesized_expression [(string) (encapsed_string)] @import.module)) @import
(include_expression
  (parenthesized_expression [(string) (encapsed_string)] @import.module)) @import
(include_once_expression
  (parenthesized_expression [(string) (encapsed_string)] @import.module)) @import
(require_expression
  (binary_expression
    left: (name) @_dir
    right: [(string) (encapsed_string)] @import.module.relative)
  (#eq? @_dir "__DIR__")) @import
(require_once_expression
  (binary_expression
    left: (name) @_dir
    right: [(string) (encapsed_string)] @import.module.relative)
  (#eq? @_dir "__DIR__")) @import
(include_expression
  (binary_expression
    left: (name) @_dir
    right: [(string) (encapsed_string)] @import.module.relative)
  (#eq? @_dir "__DIR__")) @import
(include_once_expression
  (binary_expression
    left: (name) @_dir
    right: [(string) (encapsed_string)] @import.module.relative)
  (#eq? @_dir "__DIR__")) @import
