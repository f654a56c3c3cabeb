; Go: every name used or defined.
(identifier) @identifier
(type_identifier) @identifier
(field_identifier) @identifier
(package_identifier) @identifier
