; Java: every name used or defined.
(identifier) @identifier
(type_identifier) @identifier
