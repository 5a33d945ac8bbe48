pub mod access;
pub mod compliance;
pub mod lifecycle;
pub mod rent;
