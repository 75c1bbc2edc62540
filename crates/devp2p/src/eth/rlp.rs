//! RLP helpers shared by the eth messages: list headers, bounded lists, whole-message decoding.

use crate::EthWireError;
use alloy_rlp::{Decodable, Encodable, Header};

/// The payload of the RLP list at the front of `buf`, advancing `buf` past the list.
pub(crate) fn list_payload<'a>(
    buf: &mut &'a [u8],
    message: &'static str,
) -> Result<&'a [u8], EthWireError> {
    Header::decode_bytes(buf, true).map_err(|source| EthWireError::Rlp { message, source })
}

/// Decodes one `T` from the front of `buf`.
pub(crate) fn field<T: Decodable>(
    buf: &mut &[u8],
    message: &'static str,
) -> Result<T, EthWireError> {
    T::decode(buf).map_err(|source| EthWireError::Rlp { message, source })
}

/// Decodes an RLP list of at most `max` items, one item at a time.
pub(crate) fn bounded_list<T>(
    buf: &mut &[u8],
    message: &'static str,
    max: usize,
    mut item: impl FnMut(&mut &[u8]) -> Result<T, EthWireError>,
) -> Result<Vec<T>, EthWireError> {
    let mut payload = list_payload(buf, message)?;
    let mut items = Vec::new();
    while !payload.is_empty() {
        if items.len() == max {
            return Err(EthWireError::TooManyItems { message, max });
        }
        items.push(item(&mut payload)?);
    }
    Ok(items)
}

/// Checks that nothing follows the message.
pub(crate) fn finish(rest: &[u8], message: &'static str) -> Result<(), EthWireError> {
    if rest.is_empty() { Ok(()) } else { Err(EthWireError::TrailingBytes { message }) }
}

/// `[fields...]`: the RLP list of already encoded fields.
pub(crate) fn wrap_list(fields: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.len() + 9);
    Header { list: true, payload_length: fields.len() }.encode(&mut out);
    out.extend_from_slice(fields);
    out
}

/// `[request_id, [items...]]`, the eth/66+ shape of every request and response.
pub(crate) fn with_request_id<T: Encodable>(request_id: u64, items: &[T]) -> Vec<u8> {
    let mut fields = Vec::new();
    request_id.encode(&mut fields);
    alloy_rlp::encode_list(items, &mut fields);
    wrap_list(&fields)
}
