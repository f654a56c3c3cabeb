; inherits: javascript
; TypeScript: JavaScript's names plus type names.
(type_identifier) @identifier
