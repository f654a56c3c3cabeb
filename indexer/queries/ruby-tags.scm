; Ruby: definitions and requires.

(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(class name: [(constant) (scope_resolution)] @name) @definition.class
(module name: [(constant) (scope_resolution)] @name) @definition.module
(assignment left: (constant) @name) @definition.constant

; require "json";  load "x.rb";  require_relative "lib/x" (module becomes "./lib/x")
(call
  method: (identifier) @_method
  arguments: (argument_list . (string) @import.module)
  (#any-of? @_method "require" "load")) @import
(call
  method: (identifier) @_method
  arguments: (argument_list . (string) @import.module.relative)
  (#eq? @_method "require_relative")) @import
