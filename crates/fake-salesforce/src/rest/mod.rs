pub fn router() -> axum::Router<crate::state::Emulator> {
    axum::Router::new()
}
