; inherits: ecma
; JavaScript: the shared ECMAScript patterns plus class fields holding functions.

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method
