//! The fixed schema of the graphql-jwt dialect, as data: every type with its fields, their
//! arguments and types, the enum values and the directives, with the descriptions
//! introspection shows (those async-graphql showed, the built-in scalars and introspection
//! types included). Validation, execution and introspection all read this one description.
//!
//! Not here: what the fields do (`resolvers.rs`, `introspection.rs`).

/// A type's kind, as `__TypeKind` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Object,
    Enum,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Scalar => "SCALAR",
            Kind::Object => "OBJECT",
            Kind::Enum => "ENUM",
        }
    }
}

/// A reference to a type: named, non-null or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRef {
    N(&'static str),
    NN(&'static TypeRef),
    L(&'static TypeRef),
}

use TypeRef::{L, N, NN};

impl TypeRef {
    /// The named type under any wrappers.
    pub fn named(self) -> &'static str {
        match self {
            N(n) => n,
            NN(t) | L(t) => t.named(),
        }
    }
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            N(n) => f.write_str(n),
            NN(t) => write!(f, "{t}!"),
            L(t) => write!(f, "[{t}]"),
        }
    }
}

/// An argument (or input value): name, type, description, default as GraphQL text.
#[derive(Debug)]
pub struct InputDef {
    pub name: &'static str,
    pub ty: TypeRef,
    pub description: Option<&'static str>,
    pub default: Option<&'static str>,
}

/// A field of an object type.
#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: TypeRef,
    pub description: Option<&'static str>,
    pub args: &'static [InputDef],
}

/// A named type.
#[derive(Debug)]
pub struct TypeDef {
    pub name: &'static str,
    pub kind: Kind,
    pub description: Option<&'static str>,
    pub fields: &'static [FieldDef],
    pub enum_values: &'static [(&'static str, Option<&'static str>)],
}

/// A directive.
#[derive(Debug)]
pub struct DirectiveDef {
    pub name: &'static str,
    pub description: Option<&'static str>,
    pub locations: &'static [&'static str],
    pub args: &'static [InputDef],
}

/// The schema's own description, as `__schema { description }` shows it.
pub const SCHEMA_DESCRIPTION: &str = "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all available types and directives on the server, as well as the entry points for query, mutation, and subscription operations.";

/// The type of that name.
pub fn type_named(name: &str) -> Option<&'static TypeDef> {
    TYPES.iter().find(|t| t.name == name)
}

/// The directive of that name.
pub fn directive_named(name: &str) -> Option<&'static DirectiveDef> {
    DIRECTIVES.iter().find(|d| d.name == name)
}

const fn f(name: &'static str, ty: TypeRef, description: Option<&'static str>, args: &'static [InputDef]) -> FieldDef {
    FieldDef { name, ty, description, args }
}

const fn arg(name: &'static str, ty: TypeRef, description: Option<&'static str>, default: Option<&'static str>) -> InputDef {
    InputDef { name, ty, description, default }
}

/// Every type, sorted by name as introspection lists them.
pub static TYPES: &[TypeDef] = &[
    TypeDef {
        name: "Boolean",
        kind: Kind::Scalar,
        description: Some("The `Boolean` scalar type represents `true` or `false`."),
        fields: &[],
        enum_values: &[],
    },
    TypeDef {
        name: "Float",
        kind: Kind::Scalar,
        description: Some("The `Float` scalar type represents signed double-precision fractional values as specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point)."),
        fields: &[],
        enum_values: &[],
    },
    TypeDef {
        name: "GenericScalar",
        kind: Kind::Scalar,
        description: None,
        fields: &[],
        enum_values: &[],
    },
    TypeDef {
        name: "ID",
        kind: Kind::Scalar,
        description: None,
        fields: &[],
        enum_values: &[],
    },
    TypeDef {
        name: "Int",
        kind: Kind::Scalar,
        description: Some("The `Int` scalar type represents non-fractional whole numeric values."),
        fields: &[],
        enum_values: &[],
    },
    TypeDef {
        name: "Mutation",
        kind: Kind::Object,
        description: None,
        fields: &[
        f("tokenAuth", N("ObtainJSONWebToken"), Some("Signs in with a username (or email address) and password. Each sign-in checks a\npassword hash, so one document may hold at most four."), &[arg("username", NN(&N("String")), None, None), arg("password", NN(&N("String")), None, None)]),
        f("verifyToken", N("Verify"), Some("The claims of a valid token."), &[arg("token", N("String"), None, None)]),
        f("refreshToken", N("ObtainJSONWebToken"), Some("A fresh token for a valid one (or, in long-running mode, for a refresh token)."), &[arg("token", N("String"), None, None), arg("refreshToken", N("String"), None, None)]),
        f("revokeToken", N("Revoke"), Some("Ends a long-running refresh token's session."), &[arg("refreshToken", NN(&N("String")), None, None)]),
        f("totpAuth", N("ObtainJSONWebToken"), Some("Completes a `tokenAuth` of an account with a second factor: the ticket its error\nanswered and the authenticator app's code."), &[arg("ticket", NN(&N("String")), None, None), arg("code", NN(&N("String")), None, None), arg("factorId", N("String"), None, None)]),
        f("webauthnChallenge", N("WebauthnChallenge"), Some("A challenge for the second step of a `tokenAuth` with a WebAuthn factor (a security\nkey): the options of `navigator.credentials.get`."), &[arg("ticket", NN(&N("String")), None, None), arg("factorId", N("String"), None, None)]),
        f("webauthnAuth", N("ObtainJSONWebToken"), Some("Completes a `tokenAuth` of an account with a second factor with a WebAuthn assertion:\nthe ticket, the challenge's id and the credential as JSON text."), &[arg("ticket", NN(&N("String")), None, None), arg("challengeId", NN(&N("String")), None, None), arg("credential", NN(&N("String")), None, None), arg("factorId", N("String"), None, None)]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "WebauthnChallenge",
        kind: Kind::Object,
        description: Some("What `webauthnChallenge` returns."),
        fields: &[
        f("challengeId", NN(&N("String")), Some("What `webauthnAuth` names as its `challengeId`."), &[]),
        f("publicKey", NN(&N("GenericScalar")), Some("`PublicKeyCredentialRequestOptions`, binary members base64url."), &[]),
        f("expiresAt", NN(&N("Int")), Some("Unix seconds until which the challenge can be answered."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "ObtainJSONWebToken",
        kind: Kind::Object,
        description: Some("What `tokenAuth` and `refreshToken` return."),
        fields: &[
        f("payload", NN(&N("GenericScalar")), Some("The token's claims."), &[]),
        f("refreshExpiresIn", NN(&N("Int")), Some("Unix seconds until which the token can be refreshed."), &[]),
        f("token", NN(&N("String")), Some("The access token."), &[]),
        f("refreshToken", N("String"), Some("The long-running refresh token, when that mode is on."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "Query",
        kind: Kind::Object,
        description: None,
        fields: &[
        f("me", N("UserType"), Some("The bearer of `Authorization: JWT <token>`."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "Revoke",
        kind: Kind::Object,
        description: Some("What `revokeToken` returns."),
        fields: &[
        f("revoked", NN(&N("Int")), Some("When the refresh token was revoked, unix seconds."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "String",
        kind: Kind::Scalar,
        description: Some("The `String` scalar type represents textual data, represented as UTF-8\ncharacter sequences. The String type is most often used by GraphQL to\nrepresent free-form human-readable text."),
        fields: &[],
        enum_values: &[],
    },
    TypeDef {
        name: "UserType",
        kind: Kind::Object,
        description: Some("The signed-in user, as `me` shows it."),
        fields: &[
        f("id", NN(&N("ID")), Some("The account id."), &[]),
        f("username", NN(&N("String")), Some("The username, or the address for accounts without one."), &[]),
        f("email", NN(&N("String")), Some("The address, or the empty string (as Django's `User.email`)."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "Verify",
        kind: Kind::Object,
        description: Some("What `verifyToken` returns."),
        fields: &[
        f("payload", NN(&N("GenericScalar")), Some("The token's claims."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__Directive",
        kind: Kind::Object,
        description: Some("A Directive provides a way to describe alternate runtime execution and type\nvalidation behavior in a GraphQL document.\n\nIn some cases, you need to provide options to alter GraphQL's execution\nbehavior in ways field arguments will not suffice, such as conditionally\nincluding or skipping a field. Directives provide this by describing\nadditional information to the executor."),
        fields: &[
        f("name", NN(&N("String")), None, &[]),
        f("description", N("String"), None, &[]),
        f("locations", NN(&L(&NN(&N("__DirectiveLocation")))), None, &[]),
        f("args", NN(&L(&NN(&N("__InputValue")))), None, &[arg("includeDeprecated", NN(&N("Boolean")), None, Some("false"))]),
        f("isRepeatable", NN(&N("Boolean")), None, &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__DirectiveLocation",
        kind: Kind::Enum,
        description: Some("A Directive can be adjacent to many parts of the GraphQL language, a\n__DirectiveLocation describes one such possible adjacencies."),
        fields: &[],
        enum_values: &[
        ("QUERY", Some("Location adjacent to a query operation.")),
        ("MUTATION", Some("Location adjacent to a mutation operation.")),
        ("SUBSCRIPTION", Some("Location adjacent to a subscription operation.")),
        ("FIELD", Some("Location adjacent to a field.")),
        ("FRAGMENT_DEFINITION", Some("Location adjacent to a fragment definition.")),
        ("FRAGMENT_SPREAD", Some("Location adjacent to a fragment spread.")),
        ("INLINE_FRAGMENT", Some("Location adjacent to an inline fragment.")),
        ("VARIABLE_DEFINITION", Some("Location adjacent to a variable definition.")),
        ("SCHEMA", Some("Location adjacent to a schema definition.")),
        ("SCALAR", Some("Location adjacent to a scalar definition.")),
        ("OBJECT", Some("Location adjacent to an object type definition.")),
        ("FIELD_DEFINITION", Some("Location adjacent to a field definition.")),
        ("ARGUMENT_DEFINITION", Some("Location adjacent to an argument definition.")),
        ("INTERFACE", Some("Location adjacent to an interface definition.")),
        ("UNION", Some("Location adjacent to a union definition.")),
        ("ENUM", Some("Location adjacent to an enum definition.")),
        ("ENUM_VALUE", Some("Location adjacent to an enum value definition.")),
        ("INPUT_OBJECT", Some("Location adjacent to an input object type definition.")),
        ("INPUT_FIELD_DEFINITION", Some("Location adjacent to an input object field definition.")),
        ],
    },
    TypeDef {
        name: "__EnumValue",
        kind: Kind::Object,
        description: Some("One possible value for a given Enum. Enum values are unique values, not a\nplaceholder for a string or numeric value. However an Enum value is returned\nin a JSON response as a string."),
        fields: &[
        f("name", NN(&N("String")), None, &[]),
        f("description", N("String"), None, &[]),
        f("isDeprecated", NN(&N("Boolean")), None, &[]),
        f("deprecationReason", N("String"), None, &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__Field",
        kind: Kind::Object,
        description: Some("Object and Interface types are described by a list of Fields, each of which\nhas a name, potentially a list of arguments, and a return type."),
        fields: &[
        f("name", NN(&N("String")), None, &[]),
        f("description", N("String"), None, &[]),
        f("args", NN(&L(&NN(&N("__InputValue")))), None, &[arg("includeDeprecated", NN(&N("Boolean")), None, Some("false"))]),
        f("type", NN(&N("__Type")), None, &[]),
        f("isDeprecated", NN(&N("Boolean")), None, &[]),
        f("deprecationReason", N("String"), None, &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__InputValue",
        kind: Kind::Object,
        description: Some("Arguments provided to Fields or Directives and the input fields of an\nInputObject are represented as Input Values which describe their type and\noptionally a default value."),
        fields: &[
        f("name", NN(&N("String")), None, &[]),
        f("description", N("String"), None, &[]),
        f("type", NN(&N("__Type")), None, &[]),
        f("defaultValue", N("String"), None, &[]),
        f("isDeprecated", NN(&N("Boolean")), None, &[]),
        f("deprecationReason", N("String"), None, &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__Schema",
        kind: Kind::Object,
        description: Some("A GraphQL Schema defines the capabilities of a GraphQL server. It exposes\nall available types and directives on the server, as well as the entry\npoints for query, mutation, and subscription operations."),
        fields: &[
        f("description", NN(&N("String")), Some("description of __Schema for newer graphiql introspection schema\nrequirements"), &[]),
        f("types", NN(&L(&NN(&N("__Type")))), Some("A list of all types supported by this server."), &[]),
        f("queryType", NN(&N("__Type")), Some("The type that query operations will be rooted at."), &[]),
        f("mutationType", N("__Type"), Some("If this server supports mutation, the type that mutation operations will\nbe rooted at."), &[]),
        f("subscriptionType", N("__Type"), Some("If this server support subscription, the type that subscription\noperations will be rooted at."), &[]),
        f("directives", NN(&L(&NN(&N("__Directive")))), Some("A list of all directives supported by this server."), &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__Type",
        kind: Kind::Object,
        description: Some("The fundamental unit of any GraphQL Schema is the type. There are many kinds\nof types in GraphQL as represented by the `__TypeKind` enum.\n\nDepending on the kind of a type, certain fields describe information about\nthat type. Scalar types provide no information beyond a name and\ndescription, while Enum types provide their values. Object and Interface\ntypes provide the fields they describe. Abstract types, Union and Interface,\nprovide the Object types possible at runtime. List and NonNull types compose\nother types."),
        fields: &[
        f("kind", NN(&N("__TypeKind")), None, &[]),
        f("name", N("String"), None, &[]),
        f("description", N("String"), None, &[]),
        f("fields", L(&NN(&N("__Field"))), None, &[arg("includeDeprecated", NN(&N("Boolean")), None, Some("false"))]),
        f("interfaces", L(&NN(&N("__Type"))), None, &[]),
        f("possibleTypes", L(&NN(&N("__Type"))), None, &[]),
        f("enumValues", L(&NN(&N("__EnumValue"))), None, &[arg("includeDeprecated", NN(&N("Boolean")), None, Some("false"))]),
        f("inputFields", L(&NN(&N("__InputValue"))), None, &[arg("includeDeprecated", NN(&N("Boolean")), None, Some("false"))]),
        f("ofType", N("__Type"), None, &[]),
        f("specifiedByURL", N("String"), None, &[]),
        f("isOneOf", N("Boolean"), None, &[]),
        ],
        enum_values: &[],
    },
    TypeDef {
        name: "__TypeKind",
        kind: Kind::Enum,
        description: Some("An enum describing what kind of type a given `__Type` is."),
        fields: &[],
        enum_values: &[
        ("SCALAR", Some("Indicates this type is a scalar.")),
        ("OBJECT", Some("Indicates this type is an object. `fields` and `interfaces` are valid\nfields.")),
        ("INTERFACE", Some("Indicates this type is an interface. `fields` and `possibleTypes` are\nvalid fields.")),
        ("UNION", Some("Indicates this type is a union. `possibleTypes` is a valid field.")),
        ("ENUM", Some("Indicates this type is an enum. `enumValues` is a valid field.")),
        ("INPUT_OBJECT", Some("Indicates this type is an input object. `inputFields` is a valid field.")),
        ("LIST", Some("Indicates this type is a list. `ofType` is a valid field.")),
        ("NON_NULL", Some("Indicates this type is a non-null. `ofType` is a valid field.")),
        ],
    },
];

/// The directives, sorted by name.
pub static DIRECTIVES: &[DirectiveDef] = &[
    DirectiveDef {
        name: "deprecated",
        description: Some("Marks an element of a GraphQL schema as no longer supported."),
        locations: &["FIELD_DEFINITION", "ARGUMENT_DEFINITION", "INPUT_FIELD_DEFINITION", "ENUM_VALUE"],
        args: &[arg("reason", N("String"), Some("A reason for why it is deprecated, formatted using Markdown syntax"), Some("\"No longer supported\""))],
    },
    DirectiveDef {
        name: "include",
        description: Some("Directs the executor to include this field or fragment only when the `if` argument is true."),
        locations: &["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
        args: &[arg("if", NN(&N("Boolean")), Some("Included when true."), None)],
    },
    DirectiveDef {
        name: "oneOf",
        description: Some("Indicates that an Input Object is a OneOf Input Object (and thus requires exactly one of its field be provided)"),
        locations: &["INPUT_OBJECT"],
        args: &[],
    },
    DirectiveDef {
        name: "skip",
        description: Some("Directs the executor to skip this field or fragment when the `if` argument is true."),
        locations: &["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
        args: &[arg("if", NN(&N("Boolean")), Some("Skipped when true."), None)],
    },
    DirectiveDef {
        name: "specifiedBy",
        description: Some("Provides a scalar specification URL for specifying the behavior of custom scalar types."),
        locations: &["SCALAR"],
        args: &[arg("url", NN(&N("String")), Some("URL that specifies the behavior of this scalar."), None)],
    },
];
