"""ZEEBE.md's order-fulfilment example model, run through all of its paths."""

from __future__ import annotations

import json

from .conftest import Engine

# ZEEBE.md section 3.5 (the project's own model): headers, I/O mappings, an error boundary,
# an exclusive split with a default flow and a pass-through merge, a timer, a parallel
# fork/join and a message catch correlated by orderId.
ORDER_FULFILMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs-order" targetNamespace="urn:example:order">
  <bpmn:error id="Err_Declined" errorCode="PAYMENT_DECLINED"/>
  <bpmn:message id="Msg_Delivered" name="parcel-delivered">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="order-fulfilment" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reserve"/>
    <bpmn:serviceTask id="reserve" name="Reserve stock">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="reserve-stock" retries="5"/>
        <zeebe:taskHeaders><zeebe:header key="warehouse" value="north"/></zeebe:taskHeaders>
        <zeebe:ioMapping>
          <zeebe:input source="=items" target="lines"/>
          <zeebe:output source="=reservationId" target="reservationId"/>
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="reserve" targetRef="charge"/>
    <bpmn:serviceTask id="charge" name="Charge payment">
      <bpmn:extensionElements><zeebe:taskDefinition type="charge-payment"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="declined" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="Err_Declined"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="declined" targetRef="notifyDeclined"/>
    <bpmn:serviceTask id="notifyDeclined">
      <bpmn:extensionElements><zeebe:taskDefinition type="notify-customer"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f4" sourceRef="notifyDeclined" targetRef="endCancelled"/>
    <bpmn:endEvent id="endCancelled"/>
    <bpmn:sequenceFlow id="f5" sourceRef="charge" targetRef="shipChoice"/>
    <bpmn:exclusiveGateway id="shipChoice" default="fStd"/>
    <bpmn:sequenceFlow id="fExp" sourceRef="shipChoice" targetRef="merge">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=express = true</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="fStd" sourceRef="shipChoice" targetRef="waitPickup"/>
    <bpmn:intermediateCatchEvent id="waitPickup">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="waitPickup" targetRef="merge"/>
    <bpmn:exclusiveGateway id="merge"/>
    <bpmn:sequenceFlow id="fMerged" sourceRef="merge" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f7" sourceRef="fork" targetRef="pack"/>
    <bpmn:sequenceFlow id="f8" sourceRef="fork" targetRef="invoice"/>
    <bpmn:serviceTask id="pack"><bpmn:extensionElements><zeebe:taskDefinition type="pack-items"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="invoice"><bpmn:extensionElements><zeebe:taskDefinition type="send-invoice"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f9" sourceRef="pack" targetRef="join"/>
    <bpmn:sequenceFlow id="f10" sourceRef="invoice" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f11" sourceRef="join" targetRef="delivered"/>
    <bpmn:intermediateCatchEvent id="delivered">
      <bpmn:messageEventDefinition messageRef="Msg_Delivered"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f12" sourceRef="delivered" targetRef="endOk"/>
    <bpmn:endEvent id="endOk"/>
  </bpmn:process>
</bpmn:definitions>
"""


async def _reserve_and_charge(engine: Engine, express: bool | None) -> tuple[int, int]:
    """Run the instance to the charge task; returns (instance key, charge job key)."""
    variables = {"orderId": "o-1", "items": ["a", "b"]}
    if express is not None:
        variables["express"] = express
    created = await engine.create("order-fulfilment", variables)
    reserve = await engine.activate_one("reserve-stock")
    assert json.loads(reserve.customHeaders) == {"warehouse": "north"}
    assert reserve.retries == 5
    assert json.loads(reserve.variables)["lines"] == ["a", "b"]
    await engine.complete(reserve.key, {"reservationId": "r-9", "scratch": True})
    charge = await engine.activate_one("charge-payment")
    assert json.loads(charge.variables) == {
        "orderId": "o-1", "items": ["a", "b"], "reservationId": "r-9",
        **({"express": express} if express is not None else {})}
    return created.processInstanceKey, charge.key


async def _ship(engine: Engine, key: int) -> None:
    await engine.complete((await engine.activate_one("pack-items")).key)
    await engine.complete((await engine.activate_one("send-invoice")).key)
    assert await engine.state(key) == "ACTIVE"  # waiting for the delivery message
    await engine.publish("parcel-delivered", "o-1", variables={"deliveredAt": "door"})
    assert await engine.state(key) == "COMPLETED"


async def test_declined_payment_takes_the_error_path(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER_FULFILMENT))
    key, charge = await _reserve_and_charge(engine, express=True)
    await engine.throw(charge, "PAYMENT_DECLINED", "card refused")
    notify = await engine.activate_one("notify-customer")
    await engine.complete(notify.key)
    assert await engine.state(key) == "COMPLETED"
    assert await engine.activate("pack-items") == []


async def test_express_orders_skip_the_pickup_timer(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER_FULFILMENT))
    key, charge = await _reserve_and_charge(engine, express=True)
    await engine.complete(charge)
    await _ship(engine, key)


async def test_standard_orders_wait_an_hour_for_pickup(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER_FULFILMENT))
    key, charge = await _reserve_and_charge(engine, express=None)  # no 'express': default flow
    await engine.complete(charge)
    engine.advance(3_600_000 - 1)
    assert await engine.activate("pack-items") == []
    engine.advance(1)
    await _ship(engine, key)
