//! A small macro for enums with stable string names, so the API, the
//! database and the UI all spell a value the same way.

/// Declares a fieldless enum whose every variant has one stable name, with
/// `ALL`, `as_str`, `parse`, `Display`, `FromStr` and serde using that name.
/// `FromStr` fails with the module's error type, made by
/// [`UnknownNameError`]: `GoalError` unless `error: Type;` comes first.
/// An error type that can say a name is not one of the stable names
/// (`what` lists them).
pub(crate) trait UnknownNameError {
    fn unknown_name(what: &'static str, name: String) -> Self;
}

impl UnknownNameError for crate::goals::GoalError {
    fn unknown_name(what: &'static str, name: String) -> Self {
        crate::goals::GoalError::UnknownName { what, name }
    }
}

impl UnknownNameError for crate::sync::SyncError {
    fn unknown_name(what: &'static str, name: String) -> Self {
        crate::sync::SyncError::UnknownName { what, name }
    }
}

impl UnknownNameError for crate::activity::ActivityError {
    fn unknown_name(what: &'static str, name: String) -> Self {
        crate::activity::ActivityError::UnknownName { what, name }
    }
}

impl UnknownNameError for crate::worklogs::WorklogError {
    fn unknown_name(what: &'static str, name: String) -> Self {
        crate::worklogs::WorklogError::UnknownName { what, name }
    }
}

macro_rules! stable_names {
    (@join $first:literal $(, $rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        stable_names! {
            error: $crate::goals::error::GoalError;
            $(#[$meta])*
            pub enum $name {
                $( $(#[$vmeta])* $variant => $text ),+
            }
        }
    };
    (
        error: $err:ty;
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// The stable names, for messages: `a, b, c`.
            pub const NAMES: &'static str = stable_names!(@join $($text),+);

            /// Every value, in declaration order (for pickers and round-trip tests).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name used in the API, the database and the UI.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The value with this stable name, if any.
            pub fn parse(name: &str) -> Option<$name> {
                match name {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $err;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                $name::parse(name).ok_or_else(|| {
                    <$err as $crate::names::UnknownNameError>::unknown_name(
                        $name::NAMES,
                        name.to_owned(),
                    )
                })
            }
        }
    };
}
