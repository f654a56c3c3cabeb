; Rust: every name used or defined; lifetimes ('a) are not names.
(identifier) @identifier
(type_identifier) @identifier
(field_identifier) @identifier
(shorthand_field_identifier) @identifier
(lifetime (identifier) @skip)
