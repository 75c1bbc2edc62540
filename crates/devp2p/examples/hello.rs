//! Dials a node, performs the RLPx handshake and the Hello exchange, and prints what the peer
//! said about itself (its client id and capabilities) and what the two share.
//!
//! ```sh
//! cargo run --release -p snapsync-devp2p --example hello -- enode://…@127.0.0.1:30303
//! ```

#![allow(unused_crate_dependencies)]

use snapsync_devp2p::{
    Enode, Hello, Incoming, NodeKey, P2P_VERSION, RlpxConfig, RlpxStream, Session, protocols,
};
use std::error::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::args().nth(1).ok_or("usage: hello ENODE")?;
    let enode: Enode = url.parse()?;
    let key = NodeKey::generate();
    let protocols = protocols();
    let hello = Hello {
        protocol_version: P2P_VERSION,
        client_id: "snapsync/hello".into(),
        capabilities: protocols.iter().map(|p| p.capability.clone()).collect(),
        listen_port: 0,
        id: key.id(),
    };
    let config = RlpxConfig::default();
    let socket = tokio::net::TcpStream::connect(enode.addr).await?;
    let stream = RlpxStream::connect(socket, &key, enode.id, &config).await?;
    let (mut reader, _writer, info) =
        Session::establish(stream, &hello, &protocols, &config).await?;
    println!("client: {}", info.remote.client_id);
    println!("p2p version: {}", info.remote.protocol_version);
    let offered: Vec<String> = info.remote.capabilities.iter().map(ToString::to_string).collect();
    println!("offers: {}", offered.join(" "));
    for shared in &info.shared {
        println!("shared: {} at {:#x} ({} ids)", shared.capability, shared.offset, shared.messages);
    }
    match reader.recv().await {
        Ok(Incoming::Message(message)) => {
            let name = &info.shared[message.capability].capability;
            println!("first message: {name} id {} ({} bytes)", message.id, message.payload.len());
        }
        Ok(other) => println!("first message: {other:?}"),
        Err(error) => println!("then: {error}"),
    }
    Ok(())
}
