; C (also inherited by C++): every name used or defined.
(identifier) @identifier
(type_identifier) @identifier
(field_identifier) @identifier
