; JavaScript (also inherited by TypeScript and TSX): every name used or defined.
(identifier) @identifier
(property_identifier) @identifier
(shorthand_property_identifier) @identifier
(shorthand_property_identifier_pattern) @identifier
