; inherits: c
; C++: C's names plus namespace names.
(namespace_identifier) @identifier
